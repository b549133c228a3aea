using Akka.Configuration;
using SelfForcing.Actors;
using SelfForcing.Actors.Video;
using SelfForcing.Hosting.Serving;

namespace SelfForcing.Hosting.Tests.Serving;

public class ServeSettingsTests
{
    [Fact]
    public void The_reference_hocon_states_the_built_in_defaults()
    {
        var s = ServeSettings.FromConfig(PipelineHocon.Load(RepoPaths.File("hocon/selfforcing.conf")));
        Assert.Equal(new ServeSettings(), s);
        Assert.Equal("SELFFORCING_STREAMS", s.StreamName);
        Assert.Equal(new ServeSettings(), ServeSettings.FromConfig(PipelineHocon.Default));
    }

    [Theory]
    [InlineData("subject-prefix = \"a b\"", "subject-prefix 'a b'")]
    [InlineData("subject-prefix = \"x.>\"", "subject-prefix 'x.>'")]
    [InlineData("nats-url = \"http://x\"", "nats-url 'http://x'")]
    [InlineData("max-fps = 500", "max-fps")]
    [InlineData("jetstream.storage = tape", "storage must be file or memory")]
    [InlineData("jetstream.duplicate-window = 0s", "duplicate-window must be positive")]
    public void Bad_settings_are_refused_naming_the_key(string hocon, string message)
    {
        var config = ConfigurationFactory.ParseString($"selfforcing.serve {{ {hocon} }}").WithFallback(PipelineHocon.Default);
        var e = Assert.Throws<ArgumentException>(() => ServeSettings.FromConfig(config));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Request_validation_reads_every_field_and_applies_defaults()
    {
        var body = System.Text.Json.Nodes.JsonNode.Parse("""{"prompt": "p", "seed": 9, "chunks": 0, "fps": 12.5, "decoder": "taehv", "format": "jpeg"}""")!.AsObject();
        var r = ApiRequests.Start(body, new ServeSettings(), ["vae", "taehv"], "vae", 30, 52);
        Assert.Equal(("p", 9L, (int?)null, 12.5, "taehv", StreamFormat.Jpeg, 30, 52), (r.Prompt, r.Seed, r.Chunks, r.Fps, r.Decoder, r.Format, r.LatentHeight!.Value, r.LatentWidth!.Value));
        var d = ApiRequests.Start(System.Text.Json.Nodes.JsonNode.Parse("""{"prompt": "p"}""")!.AsObject(), new ServeSettings(), ["vae"], "vae");
        Assert.Equal((-1L, (int?)7, 16.0, "vae", StreamFormat.Fmp4), (d.Seed, d.Chunks, d.Fps, d.Decoder, d.Format));
    }
}
