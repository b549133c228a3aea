using Akka.TestKit.Xunit2;
using SelfForcing.Actors.Faults;
using SelfForcing.Actors.Messages;

namespace SelfForcing.Actors.Tests;

/// <summary>The real streaming Wan VAE and TAEHV (tiny random configs) under decoder faults: resumes from its snapshot without a seam.</summary>
[Trait("Category", "FaultInjection")]
public class VaeDecodeFaultTests() : TestKit(PipelineHocon.Default)
{
    [Theory]
    [InlineData("vae", FaultAction.Kill)]
    [InlineData("vae", FaultAction.PoisonPill)]
    [InlineData("vae", FaultAction.Throw)]
    [InlineData("taehv", FaultAction.Kill)]
    [InlineData("taehv", FaultAction.Throw)]
    public async Task Decoder_killed_mid_chunk_resumes_without_a_seam(string decoder, FaultAction action)
    {
        var request = new StreamRequest("decoder stream", Seed: 11, Chunks: 4, Decoder: decoder);
        var (clean, _) = PipelineFixture.Start(Sys, wrap: PipelineFixture.WithRealDecoders);
        var expected = await PipelineFixture.Run(clean, request);
        Assert.Equal([9, 12, 12, 12], expected.Select(c => c.Frames));

        var faults = new FaultInjector([new FaultRule(Stage.Decode, action, Chunk: 2, Step: 0, Times: 2)]);
        var (faulty, _) = PipelineFixture.Start(Sys, faults, wrap: PipelineFixture.WithRealDecoders);
        PipelineFixture.AssertIdentical(expected, await PipelineFixture.Run(faulty, request), $"{action} of the {decoder} decoder");
        Assert.Equal(2, faults.Injected.Count);
    }
}
