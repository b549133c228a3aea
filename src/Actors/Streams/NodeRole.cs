namespace SelfForcing.Actors.Streams;

/// <summary>What a node does in a cluster; one node may have several roles (a single node has them all).</summary>
public enum NodeRole { Api, TextEncoder, Denoiser, Decoder, Publisher }

public static class NodeRoles
{
    public static IReadOnlyList<NodeRole> All { get; } = Enum.GetValues<NodeRole>();

    /// <summary>The stage roles a stream needs an endpoint of (the api role holds the sessions themselves).</summary>
    public static IReadOnlyList<NodeRole> Stages { get; } = [NodeRole.TextEncoder, NodeRole.Denoiser, NodeRole.Decoder, NodeRole.Publisher];

    public static string Name(NodeRole role) => role switch
    {
        NodeRole.Api => "api",
        NodeRole.TextEncoder => "text-encoder",
        NodeRole.Denoiser => "denoiser",
        NodeRole.Decoder => "decoder",
        _ => "publisher",
    };

    /// <summary>Parses "denoiser,decoder" (case-insensitive); an unknown name is an error that lists the known ones.</summary>
    public static IReadOnlySet<NodeRole> Parse(IEnumerable<string> names)
    {
        var roles = new HashSet<NodeRole>();
        foreach (var raw in names.SelectMany(n => n.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            var match = All.Where(r => string.Equals(Name(r), raw, StringComparison.OrdinalIgnoreCase)).ToList();
            if (match.Count == 0) throw new ArgumentException($"unknown role '{raw}' (roles: {string.Join(", ", All.Select(Name))})");
            roles.Add(match[0]);
        }
        if (roles.Count == 0) throw new ArgumentException($"no role given (roles: {string.Join(", ", All.Select(Name))})");
        return roles;
    }

    /// <summary>The well-known actor name of a role's endpoint on its node: <c>/user/selfforcing-&lt;role&gt;</c>.</summary>
    public static string EndpointName(NodeRole role) => "selfforcing-" + Name(role);
}
