using Akka.Actor;
using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Faults;
using SelfForcing.Actors.Messages;
using SelfForcing.Actors.Metrics;
using SelfForcing.Model.Vae;

namespace SelfForcing.Actors.Tests;

/// <summary>Builds pipelines on the tiny random-weight model inside a test's ActorSystem, and runs streams to the end.</summary>
public static class PipelineFixture
{
    public static readonly PipelineSettings Settings = new() { DefaultLatentHeight = 8, DefaultLatentWidth = 8, BackoffMin = TimeSpan.FromMilliseconds(5) };

    private static int _names;

    public static (SelfForcingPipeline Pipeline, PipelineEngines Engines) Start(ActorSystem system, FaultInjector? faults = null,
        StageTimeline? timeline = null, PipelineSettings? settings = null, Func<PipelineEngines, PipelineEngines>? wrap = null)
    {
        settings ??= Settings;
        var engines = PipelineEngines.Tiny(settings);
        if (wrap is not null) engines = wrap(engines);
        return (SelfForcingPipeline.Start(system, settings, engines, faults, timeline, $"p{Interlocked.Increment(ref _names)}"), engines);
    }

    /// <summary>Adds the real streaming Wan VAE and TAEHV decoders ("vae", "taehv") at tiny random-weight sizes.</summary>
    public static PipelineEngines WithRealDecoders(PipelineEngines e)
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

    public static async Task<List<EncodedChunk>> Collect(StreamHandle handle, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        var chunks = new List<EncodedChunk>();
        await foreach (var c in handle.ReadAllAsync(cts.Token)) chunks.Add(c);
        return chunks;
    }

    public static async Task<List<EncodedChunk>> Run(SelfForcingPipeline pipeline, StreamRequest request) =>
        await Collect(await pipeline.StartAsync(request));

    /// <summary>Asserts two runs delivered the same chunks, in order, with bitwise identical frames.</summary>
    public static void AssertIdentical(IReadOnlyList<EncodedChunk> expected, IReadOnlyList<EncodedChunk> actual, string what)
    {
        Assert.True(expected.Count == actual.Count, $"{what}: {actual.Count} chunks, expected {expected.Count}");
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.True(i == actual[i].Chunk, $"{what}: chunk #{i} carries index {actual[i].Chunk} (lost, duplicated or reordered)");
            Assert.Equal(expected[i].FirstFrame, actual[i].FirstFrame);
            Assert.Equal(expected[i].Frames, actual[i].Frames);
            Assert.True(expected[i].Rgb.AsSpan().SequenceEqual(actual[i].Rgb), $"{what}: frames of chunk {i} differ from the fault-free run");
        }
    }
}
