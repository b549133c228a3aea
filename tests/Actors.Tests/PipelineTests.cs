using Akka.TestKit.Xunit2;
using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Messages;
using SelfForcing.Actors.Metrics;

namespace SelfForcing.Actors.Tests;

public class PipelineTests() : TestKit(PipelineHocon.Default)
{
    [Fact]
    public async Task Same_seed_gives_the_same_video_and_frames_have_the_expected_shape()
    {
        var (pipeline, _) = PipelineFixture.Start(Sys);
        var request = new StreamRequest("a red fox in the snow", Seed: 42, Chunks: 3);
        var a = await PipelineFixture.Run(pipeline, request);
        var b = await PipelineFixture.Run(pipeline, request);
        PipelineFixture.AssertIdentical(a, b, "rerun");
        Assert.Equal([9, 12, 12], a.Select(c => c.Frames)); // 1 + 4·(3−1) frames, then 4 per latent frame
        Assert.All(a, c => Assert.Equal(c.Frames * 64 * 64 * 3, c.Rgb.Length));
        var other = await PipelineFixture.Run(pipeline, request with { Seed = 43 });
        Assert.False(a[1].Rgb.AsSpan().SequenceEqual(other[1].Rgb), "a different seed produced the same frames");
    }

    [Fact]
    public async Task Random_seed_is_reported_and_reproduces()
    {
        var (pipeline, _) = PipelineFixture.Start(Sys);
        var handle = await pipeline.StartAsync(new StreamRequest("waves", Seed: -1, Chunks: 2));
        Assert.True(handle.Seed >= 0);
        var first = await PipelineFixture.Collect(handle);
        var again = await PipelineFixture.Run(pipeline, new StreamRequest("waves", Seed: handle.Seed, Chunks: 2));
        PipelineFixture.AssertIdentical(first, again, "replay of the reported seed");
    }

    [Theory]
    [InlineData(null, 3, "preview", 16, "prompt is missing")]
    [InlineData("x", 0, "preview", 16, "chunks must be between")]
    [InlineData("x", 3, "nope", 16, "decoder 'nope' is not available")]
    [InlineData("x", 3, "preview", 0, "fps must be between")]
    public async Task Bad_requests_are_rejected_with_the_reason(string? prompt, int chunks, string decoder, int fps, string expected)
    {
        var (pipeline, _) = PipelineFixture.Start(Sys);
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => pipeline.StartAsync(new StreamRequest(prompt!, 1, chunks, fps, decoder)));
        Assert.Contains(expected, ex.Message);
        var ok = await PipelineFixture.Run(pipeline, new StreamRequest("still serving", 1, 1));
        Assert.Single(ok);
    }

    [Fact]
    public async Task Cancel_mid_stream_releases_the_cache()
    {
        var (pipeline, _) = PipelineFixture.Start(Sys);
        var handle = await pipeline.StartAsync(new StreamRequest("endless", Seed: 1, Chunks: null));
        var seen = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in handle.ReadAllAsync())
                if (++seen == 2) handle.Cancel();
        });
        await AwaitAssertAsync(async () => Assert.Empty((await pipeline.CacheStateAsync()).CommittedChunks), TimeSpan.FromSeconds(10));
        Assert.Equal(StreamPhase.Cancelled, (await pipeline.StatusAsync(handle.StreamId)).Phase);
    }

    [Fact]
    public async Task Denoising_of_the_next_chunk_overlaps_decoding_of_the_previous_one()
    {
        var timeline = new StageTimeline();
        var (pipeline, _) = PipelineFixture.Start(Sys, timeline: timeline,
            wrap: e => e with { Decode = new SlowDecodeEngine(e.Decode, TimeSpan.FromMilliseconds(150)) });
        var handle = await pipeline.StartAsync(new StreamRequest("overlap", Seed: 5, Chunks: 4));
        await PipelineFixture.Collect(handle);
        var spans = timeline.Spans.Where(s => s.StreamId == handle.StreamId && s.Succeeded).ToList();
        for (int n = 0; n < 3; n++)
        {
            var decodeN = spans.Single(s => s.Stage == Stage.Decode && s.Chunk == n);
            var denoiseNext = spans.Single(s => s.Stage == Stage.Denoise && s.Chunk == n + 1);
            Assert.True(denoiseNext.StartTicks < decodeN.EndTicks && decodeN.StartTicks < denoiseNext.EndTicks,
                $"denoise of chunk {n + 1} did not run while chunk {n} was decoding");
        }
    }

    [Fact]
    public async Task A_slow_consumer_bounds_the_work_in_flight()
    {
        var timeline = new StageTimeline();
        var (pipeline, _) = PipelineFixture.Start(Sys, timeline: timeline);
        var handle = await pipeline.StartAsync(new StreamRequest("backpressure", Seed: 3, Chunks: 40));
        await Task.Delay(TimeSpan.FromSeconds(2)); // nobody reads
        int k = pipeline.Settings.MaxInFlight;
        int denoised = timeline.Spans.Count(s => s.StreamId == handle.StreamId && s.Stage == Stage.Denoise && s.Succeeded);
        // channel (k) + waiting to deliver (k) + encoding (1) + waiting to encode (k) + decoding (1) + waiting to decode (k) + denoising (1)
        Assert.InRange(denoised, 1, 4 * k + 3);
        var all = new List<EncodedChunk>();
        try { await foreach (var c in handle.ReadAllAsync(new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token)) all.Add(c); }
        catch (OperationCanceledException)
        {
            var st = await pipeline.StatusAsync(handle.StreamId);
            var spans = timeline.Spans.Where(s => s.StreamId == handle.StreamId).GroupBy(s => s.Stage).Select(g => $"{g.Key}:{g.Count()}");
            Assert.Fail($"stalled after {all.Count} chunks; status {st}; spans {string.Join(" ", spans)}");
        }
        Assert.Equal(40, all.Count);
    }

    [Fact]
    public async Task Concurrent_streams_share_the_denoiser_fairly()
    {
        var timeline = new StageTimeline();
        var (pipeline, _) = PipelineFixture.Start(Sys, timeline: timeline);
        var handles = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => pipeline.StartAsync(new StreamRequest($"stream {i}", Seed: i, Chunks: 6))));
        var outputs = await Task.WhenAll(handles.Select(h => PipelineFixture.Collect(h)));
        Assert.All(outputs, o => Assert.Equal(6, o.Count));
        var order = timeline.Spans.Where(s => s.Stage == Stage.Denoise && s.Succeeded).OrderBy(s => s.StartTicks).Select(s => s.StreamId).ToList();
        // Round-robin at chunk granularity: while every stream still has work, no stream runs twice in a row.
        int allBusyUntil = handles.Min(h => order.LastIndexOf(h.StreamId)) ;
        for (int i = 1; i <= allBusyUntil - 2; i++)
            Assert.False(order[i] == order[i - 1] && order[i] == order[i + 1], $"stream {order[i]} denoised three chunks in a row while others waited");
    }
}

/// <summary>Wraps a decoder to make it slower than the denoiser, so overlap shows in the timeline.</summary>
public sealed class SlowDecodeEngine(IDecodeEngine inner, TimeSpan delay) : IDecodeEngine
{
    public TorchSharp.torch.Device Device => inner.Device;
    public IReadOnlyCollection<string> Decoders => inner.Decoders;
    public IDecoderState Initial(string decoder) => inner.Initial(decoder);

    public (TorchSharp.torch.Tensor Pixels, IDecoderState Next) Decode(string decoder, IDecoderState state, TorchSharp.torch.Tensor latents)
    {
        Thread.Sleep(delay);
        return inner.Decode(decoder, state, latents);
    }

    public void Dispose() => inner.Dispose();
}
