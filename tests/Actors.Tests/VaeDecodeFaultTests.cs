using Akka.TestKit.Xunit2;
using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Faults;
using SelfForcing.Actors.Messages;
using SelfForcing.Model.Vae;

namespace SelfForcing.Actors.Tests;

/// <summary>The real streaming Wan VAE (tiny random config) under decoder faults: resumes from its snapshot without a seam.</summary>
[Trait("Category", "FaultInjection")]
public class VaeDecodeFaultTests() : TestKit(PipelineHocon.Default)
{
    private static PipelineEngines WithVae(PipelineEngines e)
    {
        var vae = new WanVae(WanVaeConfig.Wan21 with { Dim = 8, DimMult = [1, 2, 2, 2], NumResBlocks = 1 }, includeEncoder: false);
        vae.InitializeRandom(3);
        return e with { Decode = new WanVaeDecodeEngine(vae) };
    }

    [Theory]
    [InlineData(FaultAction.Kill)]
    [InlineData(FaultAction.PoisonPill)]
    [InlineData(FaultAction.Throw)]
    public async Task Vae_decoder_killed_mid_chunk_resumes_without_a_seam(FaultAction action)
    {
        var request = new StreamRequest("vae stream", Seed: 11, Chunks: 4, Decoder: "vae");
        var (clean, _) = PipelineFixture.Start(Sys, wrap: WithVae);
        var expected = await PipelineFixture.Run(clean, request);
        Assert.Equal([9, 12, 12, 12], expected.Select(c => c.Frames));

        var faults = new FaultInjector([new FaultRule(Stage.Decode, action, Chunk: 2, Step: 0, Times: 2)]);
        var (faulty, _) = PipelineFixture.Start(Sys, faults, wrap: WithVae);
        PipelineFixture.AssertIdentical(expected, await PipelineFixture.Run(faulty, request), $"{action} of the VAE decoder");
        Assert.Equal(2, faults.Injected.Count);
    }
}
