using Akka.TestKit.Xunit2;
using SelfForcing.Actors.Messages;

namespace SelfForcing.Actors.Tests;

/// <summary>A running stream's prompt changes at a chunk boundary; the self-attention history (motion) is kept.</summary>
public class PromptSwitchTests() : TestKit(PipelineHocon.Default)
{
    private static readonly StreamRequest Request = new("a red fox runs through snow", Seed: 7, Chunks: 16);

    [Fact]
    public async Task Chunks_before_the_switch_are_the_unswitched_run_and_chunks_after_differ()
    {
        var (pipeline, _) = PipelineFixture.Start(Sys);
        var plain = await PipelineFixture.Run(pipeline, Request);

        var handle = await pipeline.StartAsync(Request);
        var switched = new List<EncodedChunk>();
        int? from = null;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await foreach (var chunk in handle.ReadAllAsync(cts.Token))
        {
            switched.Add(chunk);
            if (from is null)
            {
                var (f, rejected) = await pipeline.TrySwitchPromptAsync(handle.StreamId, "a blue whale dives into the deep");
                Assert.True(rejected is null, rejected?.Reason);
                from = f;
            }
        }
        Assert.NotNull(from);
        Assert.InRange(from!.Value, 1, Request.Chunks!.Value - 1);
        Assert.Equal(plain.Count, switched.Count);
        for (int i = 0; i < from; i++)
            Assert.True(plain[i].Rgb.AsSpan().SequenceEqual(switched[i].Rgb), $"chunk {i} (before the switch at {from}) differs from the unswitched run");
        for (int i = from.Value; i < plain.Count; i++)
            Assert.False(plain[i].Rgb.AsSpan().SequenceEqual(switched[i].Rgb), $"chunk {i} (after the switch at {from}) equals the unswitched run");
        Assert.All(switched.Take(from.Value), c => Assert.Equal(Request.Prompt, c.Prompt));
        Assert.All(switched.Skip(from.Value), c => Assert.Equal("a blue whale dives into the deep", c.Prompt));
    }

    [Fact]
    public async Task The_switch_point_does_not_depend_on_timing_when_made_before_the_first_chunk()
    {
        var (pipeline, _) = PipelineFixture.Start(Sys);
        var handle = await pipeline.StartAsync(Request with { Chunks = 3 });
        var (from, rejected) = await pipeline.TrySwitchPromptAsync(handle.StreamId, "a blue whale dives into the deep");
        Assert.Null(rejected);
        Assert.Equal(1, from); // nothing denoised yet: chunk 0 keeps the stream's first prompt
        Assert.Equal(3, (await PipelineFixture.Collect(handle)).Count);
    }

    [Fact]
    public void Clearing_cross_attention_keeps_the_motion_history()
    {
        // The cache owner's switch: same self-attention keys, new text keys. The first chunk under the new prompt must
        // differ from a fresh stream of the new prompt at that chunk (it attends to the old frames) — compared on
        // latents, since the tiny random model's history effect (~1e-6 relative) is below 8-bit quantisation.
        using var engines = Engines.PipelineEngines.Tiny(PipelineFixture.Settings);
        var spec = new Engines.StreamSpec("t", "a", 7, 8, 8, 3, 16, "preview");
        using var condA = engines.Text.Encode("a red fox runs through snow");
        using var condB = engines.Text.Encode("a blue whale dives into the deep");
        TorchSharp.torch.Tensor Second(TorchSharp.torch.Tensor first, TorchSharp.torch.Tensor second, bool clear)
        {
            using var cache = engines.Denoise.CreateCache(spec);
            using var x0 = engines.Denoise.DenoiseChunk(cache, spec, 0, first);
            engines.Denoise.CommitChunk(cache, 0, x0, first);
            if (clear) cache.ClearCrossAttention();
            return engines.Denoise.DenoiseChunk(cache, spec, 1, second);
        }
        using var _ = TorchSharp.torch.no_grad();
        using var switched = Second(condA, condB, clear: true);
        using var fresh = Second(condB, condB, clear: false);
        using var stale = Second(condA, condB, clear: false); // forgot to clear: keeps prompt A's text keys
        using var unswitched = Second(condA, condA, clear: false);
        double Diff(TorchSharp.torch.Tensor a, TorchSharp.torch.Tensor b) => (a - b).abs().max().item<float>() / (b.abs().max().item<float>() + 1e-12);
        // Lost history would make the two computations identical (same code, same inputs), hence bitwise equal;
        // the tiny model's random weights make the history's effect small but never zero.
        Assert.True(Diff(switched, fresh) > 0, "switched chunk equals a fresh stream of the new prompt: history lost");
        Assert.True(Diff(switched, unswitched) > 10 * Diff(switched, fresh), $"the new prompt had too little effect ({Diff(switched, unswitched):E2} vs history {Diff(switched, fresh):E2})");
        Assert.True(Diff(stale, unswitched) < 1e-6, "without clearing, the cached text keys of the old prompt should still be used");
    }

    [Fact]
    public async Task Bad_switches_are_refused_with_the_reason_and_the_stream_goes_on()
    {
        var (pipeline, _) = PipelineFixture.Start(Sys);
        var (_, unknown) = await pipeline.TrySwitchPromptAsync("nope", "x");
        Assert.Contains("unknown stream", unknown!.Reason);
        Assert.Equal("stream", unknown.Field);

        var handle = await pipeline.StartAsync(Request with { Chunks = 4 });
        var (_, empty) = await pipeline.TrySwitchPromptAsync(handle.StreamId, "   ");
        Assert.Contains("prompt is empty", empty!.Reason);
        Assert.Equal("prompt", empty.Field);
        Assert.Equal(4, (await PipelineFixture.Collect(handle)).Count);

        var (_, ended) = await pipeline.TrySwitchPromptAsync(handle.StreamId, "later");
        Assert.Contains("has ended", ended!.Reason);
    }
}
