using Akka.Configuration;
using SelfForcing.Actors.Streams;

namespace SelfForcing.Actors.Cluster;

/// <summary>
/// Typed view of <c>selfforcing.cluster</c>: this node's roles, where it listens, and the seed nodes it joins. With no
/// seed nodes the process is a single node with no remoting (every role, one process).
/// </summary>
public sealed record ClusterSettings(IReadOnlySet<NodeRole> Roles, IReadOnlyList<string> SeedNodes, string Hostname, int Port)
{
    public const string SystemName = "selfforcing";

    public bool Clustered => SeedNodes.Count > 0;

    public static ClusterSettings FromConfig(Config root)
    {
        var c = root.GetConfig("selfforcing.cluster") ?? Config.Empty;
        var roles = NodeRoles.Parse(c.GetStringList("roles", ["api", "text-encoder", "denoiser", "decoder", "publisher"]));
        return new ClusterSettings(roles, c.GetStringList("seed-nodes", []).ToList(), c.GetString("hostname", "127.0.0.1"), c.GetInt("port", 0)).Validate();
    }

    public ClusterSettings Validate()
    {
        var errors = new List<string>();
        foreach (var seed in SeedNodes)
            if (!Akka.Actor.Address.TryParse(seed, out var a) || a.System != SystemName || a.Host is null || a.Port is null)
                errors.Add($"seed node '{seed}' must look like akka.tcp://{SystemName}@HOST:PORT");
        if (Port is < 0 or > 65535) errors.Add($"port {Port} must be between 0 and 65535");
        if (string.IsNullOrWhiteSpace(Hostname)) errors.Add("hostname is empty");
        if (errors.Count > 0) throw new ArgumentException("Invalid selfforcing.cluster settings: " + string.Join("; ", errors));
        return this;
    }

    /// <summary>A string as a quoted HOCON value (backslashes and quotes escaped).</summary>
    public static string Quote(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

    /// <summary>The Akka settings that make this process a cluster node (nothing when it is a single node).</summary>
    public Config AkkaConfig()
    {
        if (!Clustered) return Config.Empty;
        return ConfigurationFactory.ParseString($$"""
            akka.actor.provider = cluster
            akka.remote.dot-netty.tcp.hostname = {{Quote(Hostname)}}
            akka.remote.dot-netty.tcp.port = {{Port}}
            akka.cluster.seed-nodes = [{{string.Join(", ", SeedNodes.Select(Quote))}}]
            akka.cluster.roles = [{{string.Join(", ", Roles.Select(r => Quote(NodeRoles.Name(r))))}}]
            """);
    }
}
