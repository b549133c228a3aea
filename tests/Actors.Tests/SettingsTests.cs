using Akka.Configuration;
using SelfForcing.Actors.Faults;

namespace SelfForcing.Actors.Tests;

public class SettingsTests
{
    internal static string RepoFile(string relative)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "SelfForcing.Actors.sln"))) dir = dir.Parent;
        return Path.Combine(dir!.FullName, relative);
    }

    [Fact]
    public void Reference_hocon_parses_to_the_defaults()
    {
        var config = PipelineHocon.Load(RepoFile("hocon/selfforcing.conf"));
        Assert.Equal(new PipelineSettings(), PipelineSettings.FromConfig(config));
        Assert.Empty(FaultInjector.FromConfig(config.GetConfig("selfforcing.fault-injection")).Injected);
    }

    [Theory]
    [InlineData("", false)]
    [InlineData("selfforcing.text-encoder.unload-after-use = on", true)]
    [InlineData("selfforcing.text-encoder.unload-after-use = off", false)]
    public void Text_encoder_unload_after_use_is_off_unless_set(string hocon, bool expected)
    {
        var config = ConfigurationFactory.ParseString(hocon).WithFallback(PipelineHocon.Default);
        Assert.Equal(expected, PipelineSettings.FromConfig(config).UnloadTextEncoderAfterUse);
    }

    [Theory]
    [InlineData("selfforcing.pipeline.max-in-flight = 0", "max-in-flight")]
    [InlineData("selfforcing.devices.denoiser = tpu", "devices.denoiser")]
    [InlineData("selfforcing.pipeline.latent-height = 7", "latent-height")]
    public void Invalid_settings_name_the_key(string hocon, string key)
    {
        var config = ConfigurationFactory.ParseString(hocon).WithFallback(PipelineHocon.Default);
        var ex = Assert.Throws<ArgumentException>(() => PipelineSettings.FromConfig(config));
        Assert.Contains(key, ex.Message);
    }

    [Fact]
    public void Fault_rules_parse_from_hocon()
    {
        var f = FaultInjector.FromConfig(ConfigurationFactory.ParseString("rules = [ { stage = encode-to-stream, chunk = 0, action = throw } ]"));
        Assert.Equal(FaultAction.Throw, f.Check(Messages.Stage.Encode, "s1", 0));
        Assert.Null(f.Check(Messages.Stage.Encode, "s1", 0));
        Assert.Throws<ArgumentException>(() => FaultInjector.FromConfig(ConfigurationFactory.ParseString("rules = [ { stage = nowhere } ]")));
    }

    [Theory]
    [InlineData(2, 5, "sink_size (5) must be smaller than local_attn_size (2)")]
    [InlineData(-1, 3, "sink_size (3) needs rolling attention")]
    [InlineData(5, 3, "sink_size (3) + num_frame_per_block (3) must fit in local_attn_size (5)")]
    public void Engines_refuse_an_impossible_attention_window(int localAttnSize, int sinkSize, string expected)
    {
        var ex = Assert.Throws<ArgumentException>(() => Engines.PipelineEngines.Tiny(new PipelineSettings(), localAttnSize: localAttnSize, sinkSize: sinkSize));
        Assert.Contains(expected, ex.Message);
    }
}
