using Akka.Configuration;
using SelfForcing.Actors.Cluster;
using SelfForcing.Actors.Streams;

namespace SelfForcing.Actors.Tests;

/// <summary>The cluster part of the HOCON: the shipped examples mean what the README says, and bad settings name the key.</summary>
public class ClusterSettingsTests
{
    private static ClusterSettings Of(string file) => ClusterSettings.FromConfig(PipelineHocon.Load(SettingsTests.RepoFile(file)));

    [Fact]
    public void The_defaults_are_one_process_with_every_role()
    {
        var c = ClusterSettings.FromConfig(PipelineHocon.Default);
        Assert.False(c.Clustered);
        Assert.Equal(NodeRoles.All.ToHashSet(), c.Roles.ToHashSet());
        Assert.True(c.AkkaConfig().IsEmpty);
    }

    [Fact]
    public void The_single_node_example_is_not_a_cluster()
    {
        var c = Of("hocon/single-node.conf");
        Assert.False(c.Clustered);
        Assert.Equal(5, c.Roles.Count);
    }

    [Theory]
    [InlineData("hocon/three-node/api.conf", new[] { NodeRole.Api, NodeRole.TextEncoder, NodeRole.Publisher }, 4053)]
    [InlineData("hocon/three-node/denoiser.conf", new[] { NodeRole.Denoiser }, 0)]
    [InlineData("hocon/three-node/decoder.conf", new[] { NodeRole.Decoder }, 0)]
    public void The_three_node_example_shares_one_seed(string file, NodeRole[] roles, int port)
    {
        var c = Of(file);
        Assert.True(c.Clustered);
        Assert.Equal(roles.ToHashSet(), c.Roles.ToHashSet());
        Assert.Equal(["akka.tcp://selfforcing@127.0.0.1:4053"], c.SeedNodes);
        Assert.Equal(port, c.Port);
        var akka = c.AkkaConfig().WithFallback(PipelineHocon.Default);
        Assert.Equal("cluster", akka.GetString("akka.actor.provider"));
        Assert.Equal(roles.Select(NodeRoles.Name).ToHashSet(), akka.GetStringList("akka.cluster.roles").ToHashSet());
        // The resolver is configured, not left to Akka's default (no downing at all).
        Assert.Equal("keep-oldest", akka.GetString("akka.cluster.split-brain-resolver.active-strategy"));
        Assert.Contains("SplitBrainResolverProvider", akka.GetString("akka.cluster.downing-provider-class"));
    }

    [Theory]
    [InlineData("selfforcing.cluster.roles = [api, gpu]", "unknown role 'gpu'")]
    [InlineData("selfforcing.cluster.roles = []", "no role given")]
    [InlineData("selfforcing.cluster.seed-nodes = [\"http://127.0.0.1:4053\"]", "seed node 'http://127.0.0.1:4053'")]
    [InlineData("selfforcing.cluster.seed-nodes = [\"akka.tcp://other@127.0.0.1:4053\"]", "akka.tcp://selfforcing@HOST:PORT")]
    [InlineData("selfforcing.cluster.port = 70000", "port 70000")]
    public void Bad_cluster_settings_are_refused_by_name(string hocon, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => ClusterSettings.FromConfig(ConfigurationFactory.ParseString(hocon).WithFallback(PipelineHocon.Default)));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Every_default_lives_in_the_one_embedded_file()
    {
        // The embedded defaults are hocon/selfforcing.conf itself, byte for byte.
        Assert.Equal(File.ReadAllText(SettingsTests.RepoFile("hocon/selfforcing.conf")), PipelineHocon.DefaultText);
    }
}
