using Akka.TestKit.Xunit2;
using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Faults;
using SelfForcing.Actors.Messages;
using SelfForcing.Model.Vae;

namespace SelfForcing.Actors.Tests;

/// <summary>The real streaming Wan VAE and TAEHV (tiny random configs) under decoder faults: resumes from its snapshot without a seam.</summary>
[Trait("Category", "FaultInjection")]
public class VaeDecodeFaultTests() : TestKit(PipelineHocon.Default)
{
    private static PipelineEngines WithVae(PipelineEngines e)
    {
        var vae = new WanVae(WanVaeConfig.Wan21 with { Dim = 8, DimMult = [1, 2, 2, 2], NumResBlocks = 1 }, includeEncoder: false);
        vae.InitializeRandom(3);
        var taehv = new SelfForcing.Model.Taehv.TaehvDecoder(SelfForcing.Model.Taehv.TaehvConfig.Wan21 with { NF = [16, 8, 8, 8] });
        using (TorchSharp.torch.no_grad())
        {
            var g = new TorchSharp.torch.Generator(9);
            foreach (var (_, p) in taehv.named_parameters()) p.copy_(TorchSharp.torch.randn(p.shape, generator: g) * 0.2);
        }
        return e with { Decode = new CompositeDecodeEngine(e.Decode, new WanVaeDecodeEngine(vae), new TaehvDecodeEngine(taehv)) };
    }

    [Theory]
    [InlineData("vae", FaultAction.Kill)]
    [InlineData("vae", FaultAction.PoisonPill)]
    [InlineData("vae", FaultAction.Throw)]
    [InlineData("taehv", FaultAction.Kill)]
    [InlineData("taehv", FaultAction.Throw)]
    public async Task Decoder_killed_mid_chunk_resumes_without_a_seam(string decoder, FaultAction action)
    {
        var request = new StreamRequest("decoder stream", Seed: 11, Chunks: 4, Decoder: decoder);
        var (clean, _) = PipelineFixture.Start(Sys, wrap: WithVae);
        var expected = await PipelineFixture.Run(clean, request);
        Assert.Equal([9, 12, 12, 12], expected.Select(c => c.Frames));

        var faults = new FaultInjector([new FaultRule(Stage.Decode, action, Chunk: 2, Step: 0, Times: 2)]);
        var (faulty, _) = PipelineFixture.Start(Sys, faults, wrap: WithVae);
        PipelineFixture.AssertIdentical(expected, await PipelineFixture.Run(faulty, request), $"{action} of the {decoder} decoder");
        Assert.Equal(2, faults.Injected.Count);
    }
}
