using Akka.TestKit.Xunit2;
using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Messages;
using SelfForcing.Actors.Metrics;
using SelfForcing.Actors.Stages;
using SelfForcing.Model.Sampling;

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
    public async Task Cancel_mid_stream_disposes_the_cache()
    {
        ObservedDenoiseEngine? denoise = null;
        var (pipeline, _) = PipelineFixture.Start(Sys, wrap: e => e with { Denoise = denoise = new ObservedDenoiseEngine(e.Denoise) });
        var handle = await pipeline.StartAsync(new StreamRequest("endless", Seed: 1, Chunks: null));
        var seen = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in handle.ReadAllAsync())
                if (++seen == 2) handle.Cancel();
        });
        var cache = denoise!.Caches[handle.StreamId];
        await AwaitConditionAsync(() => Task.FromResult(cache.IsDisposed), TimeSpan.FromSeconds(10), message: "the cancelled stream's KV cache was never disposed");
        Assert.Empty((await pipeline.CacheStateAsync()).CommittedChunks);
        Assert.Equal(StreamPhase.Cancelled, (await pipeline.StatusAsync(handle.StreamId)).Phase);
    }

    [Fact]
    public async Task Cancel_while_the_denoiser_holds_the_cache_disposes_it_once_the_chunk_settles()
    {
        ObservedDenoiseEngine? denoise = null;
        var (pipeline, _) = PipelineFixture.Start(Sys,
            wrap: e => e with { Denoise = denoise = new ObservedDenoiseEngine(e.Denoise, holdAt: (_, chunk) => chunk == 2) });
        var handle = await pipeline.StartAsync(new StreamRequest("cancelled mid-chunk", Seed: 2, Chunks: 6));
        var reading = PipelineFixture.Collect(handle);
        Assert.True(denoise!.Holding.Wait(TimeSpan.FromSeconds(30)), "chunk 2 never started denoising");
        var cache = denoise.Caches[handle.StreamId];
        try
        {
            handle.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reading);
            await AwaitAssertAsync(async () => Assert.Empty((await pipeline.CacheStateAsync()).CommittedChunks), TimeSpan.FromSeconds(10));
            // Released by the stream but still lent: freeing it now would pull the buffers from under the running chunk.
            Assert.False(cache.IsDisposed, "the KV cache was disposed while the denoiser was still using it");
        }
        finally { denoise.Release.Set(); }
        await AwaitConditionAsync(() => Task.FromResult(cache.IsDisposed), TimeSpan.FromSeconds(10),
            message: "the KV cache lent to the denoiser at cancel time was never disposed after its chunk settled");
        Assert.Equal(StreamPhase.Cancelled, (await pipeline.StatusAsync(handle.StreamId)).Phase);
    }

    [Fact]
    public async Task Stopping_the_cache_owner_while_the_denoiser_holds_the_cache_frees_it_once_the_chunk_returns()
    {
        // The node stopping under a stream: the owner's PostStop runs on its thread while the worker is mid-chunk on
        // its own. Freeing the cache there crashed the process (a native read of freed buffers), not just the stream.
        ObservedDenoiseEngine? denoise = null;
        var (pipeline, _) = PipelineFixture.Start(Sys,
            wrap: e => e with { Denoise = denoise = new ObservedDenoiseEngine(e.Denoise, holdAt: (_, chunk) => chunk == 1) });
        var handle = await pipeline.StartAsync(new StreamRequest("stopped mid-chunk", Seed: 3, Chunks: 4));
        Assert.True(denoise!.Holding.Wait(TimeSpan.FromSeconds(30)), "chunk 1 never started denoising");
        var cache = denoise.Caches[handle.StreamId];
        try
        {
            Watch(pipeline.CacheOwner);
            Sys.Stop(pipeline.CacheOwner);
            ExpectTerminated(pipeline.CacheOwner, TimeSpan.FromSeconds(10));
            Assert.False(cache.IsDisposed, "the stopped owner freed the KV cache while the denoiser was still using it");
        }
        finally { denoise.Release.Set(); }
        await AwaitConditionAsync(() => Task.FromResult(cache.IsDisposed), TimeSpan.FromSeconds(10),
            message: "the KV cache lent at stop time was never freed after its chunk returned");
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
    public async Task Chunk_timings_show_chunks_queueing_behind_a_slow_decoder()
    {
        // 400 ms per decode against a tiny-model denoise of 30 ms here and ~100 ms on a loaded CI machine: the decoder
        // is the bottleneck by a wide margin even under load, so later chunks must wait for it.
        var (pipeline, _) = PipelineFixture.Start(Sys,
            wrap: e => e with { Decode = new SlowDecodeEngine(e.Decode, TimeSpan.FromMilliseconds(400)) });
        var handle = await pipeline.StartAsync(new StreamRequest("queue", Seed: 6, Chunks: 5));
        var chunks = await PipelineFixture.Collect(handle);
        Assert.All(chunks, c =>
        {
            Assert.True(c.Timings.Decode >= 0.4, $"chunk {c.Chunk}: decode {c.Timings.Decode:F3} s does not include the 400 ms the decoder sleeps");
            Assert.True(c.Timings.HeldBeforeDenoise >= 0 && c.Timings.HeldBeforeDecode >= 0 && c.Timings.InTransit >= 0, $"chunk {c.Chunk}: {c.Timings}");
        });
        // Chunk 0 finds every stage idle. The last one became ready about four denoise times after the start but
        // could not be decoded before four 400 ms decodes had finished, so it waited (before denoise or before decode)
        // for well over 100 ms even if denoising took 200 ms a chunk.
        var first = chunks[0].Timings;
        var last = chunks[^1].Timings;
        Assert.True(first.HeldBeforeDenoise + first.HeldBeforeDecode < 0.1, $"chunk 0 was held: {first}");
        Assert.True(last.HeldBeforeDenoise + last.HeldBeforeDecode >= 0.1, $"chunk 4 was not held behind the slow decoder: {last}");
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
        var handles = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => pipeline.StartAsync(new StreamRequest($"stream {i}", Seed: i, Chunks: 8))));
        var outputs = await Task.WhenAll(handles.Select(h => PipelineFixture.Collect(h)));
        Assert.All(outputs, o => Assert.Equal(8, o.Count));
        var order = timeline.Spans.Where(s => s.Stage == Stage.Denoise && s.Succeeded).OrderBy(s => s.StartTicks).Select(s => s.StreamId).ToList();
        AssertRoundRobin(order, handles.Select(h => h.StreamId).ToList());
    }

    /// <summary>
    /// Every stream takes its turn: while all streams are live (from the last one's first denoise job to the first one's
    /// last), each window of <c>streams.Count</c> consecutive jobs holds every stream. A scheduler that lets two streams
    /// alternate while a third waits fails here, either on a window or because the streams never overlapped.
    /// </summary>
    public static void AssertRoundRobin(List<string> order, IReadOnlyList<string> streams)
    {
        string Trace() => string.Join(" ", order);
        int n = streams.Count;
        int allLiveFrom = streams.Max(id => order.IndexOf(id));
        int allLiveUntil = streams.Min(id => order.LastIndexOf(id));
        Assert.True(allLiveUntil - allLiveFrom + 1 >= 2 * n,
            $"the streams barely ran side by side (jobs {allLiveFrom}..{allLiveUntil}): one waited for another to finish; order: {Trace()}");
        for (int i = allLiveFrom; i + n - 1 <= allLiveUntil; i++)
        {
            var window = order.Skip(i).Take(n).ToList();
            var missing = streams.Except(window).ToList();
            Assert.True(missing.Count == 0,
                $"denoise jobs {i}..{i + n - 1} ({string.Join(" ", window)}) skipped {string.Join(", ", missing)} while it had work; order: {Trace()}");
        }
    }

    [Fact]
    public async Task The_pipeline_adds_no_numerical_difference_to_the_sampler()
    {
        const int chunks = 6; // 18 latent frames: the 12-frame rolling window wraps
        RecordingDecodeEngine? recorder = null;
        var (pipeline, engines) = PipelineFixture.Start(Sys, wrap: e => e with { Decode = recorder = new RecordingDecodeEngine(e.Decode) });
        var requests = new[] { new StreamRequest("a heron over the marsh", Seed: 21, Chunks: chunks), new StreamRequest("city lights", Seed: 22, Chunks: chunks) };
        var handles = await Task.WhenAll(requests.Select(r => pipeline.StartAsync(r)));
        var outputs = await Task.WhenAll(handles.Select(h => PipelineFixture.Collect(h)));
        var seen = recorder!.All;
        Assert.Equal(2 * chunks, seen.Count);

        var model = ((SelfForcingDenoiseEngine)engines.Denoise).Model;
        var sampler = new SelfForcingSampler(model, SamplerSettings.Default with { NumFramePerBlock = model.Config.NumFramePerBlock });
        using var preview = new LatentPreviewDecodeEngine(TorchSharp.torch.CPU);
        for (int s = 0; s < requests.Length; s++)
        {
            using var scope = TorchSharp.torch.NewDisposeScope();
            var conditioning = engines.Text.Encode(requests[s].Prompt);
            using var cache = model.CreateCache(1, chunks * model.Config.NumFramePerBlock, 8, 8, TorchSharp.torch.CPU, TorchSharp.torch.ScalarType.Float32);
            IDecoderState state = preview.Initial("preview");
            int c = 0;
            foreach (var x0 in sampler.Generate(cache, conditioning, chunks, new SeededNoiseSource(requests[s].Seed), 8, 8))
            {
                var direct = x0.contiguous().cpu().bytes.ToArray();
                Assert.True(seen.Count(t => t.bytes.SequenceEqual(direct)) == 1, $"stream {s} chunk {c}: the pipeline's latents differ from the sampler's");
                var (pixels, next) = preview.Decode("preview", state, x0);
                state = next;
                Assert.True(StreamEncodeActor.ToRgb24(pixels).AsSpan().SequenceEqual(outputs[s][c].Rgb),
                    $"stream {s} chunk {c}: the pipeline's frames differ from the sampler's latents decoded directly");
                c++;
            }
            Assert.True(cache.GlobalEnd > cache.CapacityTokens, "the rolling window never wrapped");
        }
    }
}

/// <summary>Wraps a decoder to make it slower than the denoiser, so overlap shows in the timeline.</summary>
public sealed class SlowDecodeEngine(IDecodeEngine inner, TimeSpan delay) : IDecodeEngine
{
    public TorchSharp.torch.Device Device => inner.Device;
    public IReadOnlyCollection<string> Decoders => inner.Decoders;
    public IDecoderState Initial(string decoder) => inner.Initial(decoder);
    public IDecoderState Import(DecoderStateParts parts) => inner.Import(parts);

    public (TorchSharp.torch.Tensor Pixels, IDecoderState Next) Decode(string decoder, IDecoderState state, TorchSharp.torch.Tensor latents)
    {
        Thread.Sleep(delay);
        return inner.Decode(decoder, state, latents);
    }

    public void Dispose() => inner.Dispose();
}
