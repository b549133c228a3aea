using Akka.TestKit.Xunit2;
using SelfForcing.Actors.Faults;
using SelfForcing.Actors.Messages;

namespace SelfForcing.Actors.Tests;

[Trait("Category", "FaultInjection")]
public class FaultInjectionTests() : TestKit(PipelineHocon.Default)
{
    private static readonly StreamRequest Request = new("a lighthouse at dusk", Seed: 7, Chunks: 4);

    public static IEnumerable<object[]> StageFaults() =>
        from stage in new[] { Stage.TextEncode, Stage.Denoise, Stage.Decode, Stage.Encode }
        from action in new[] { FaultAction.Kill, FaultAction.PoisonPill, FaultAction.Throw }
        select new object[] { stage, action };

    [Theory]
    [MemberData(nameof(StageFaults))]
    public async Task Killing_a_stage_mid_chunk_leaves_the_stream_identical(Stage stage, FaultAction action)
    {
        var (clean, _) = PipelineFixture.Start(Sys);
        var expected = await PipelineFixture.Run(clean, Request);

        // Mid-chunk: the denoiser after its second step (cache slots already written), others after their work, before answering.
        int chunk = stage == Stage.TextEncode ? -1 : 2;
        int step = stage == Stage.Denoise ? 1 : 0;
        var faults = new FaultInjector([new FaultRule(stage, action, chunk, step, Times: 2)]);
        var (faulty, _) = PipelineFixture.Start(Sys, faults);
        var actual = await PipelineFixture.Run(faulty, Request);

        Assert.Equal(2, faults.Injected.Count);
        PipelineFixture.AssertIdentical(expected, actual, $"{action} of {stage}");
    }

    [Theory]
    [InlineData(FaultAction.Kill, 1)]       // mid-chunk: some steps' keys already overwrote evicted ring slots
    [InlineData(FaultAction.Throw, 1)]
    [InlineData(FaultAction.PoisonPill, -1)] // after the context pass, before answering
    [InlineData(FaultAction.Throw, -1)]
    public async Task A_retry_after_the_rolling_window_wrapped_leaves_the_stream_identical(FaultAction action, int step)
    {
        // 7 chunks of 3 frames through a 12-frame window (3 sink frames): chunks 4.. write into recycled ring slots.
        const int faultChunk = 5;
        var request = new StreamRequest("a long pan across the valley", Seed: 17, Chunks: 7);
        var (clean, _) = PipelineFixture.Start(Sys);
        var expected = await PipelineFixture.Run(clean, request);

        ObservedDenoiseEngine? denoise = null;
        var faults = new FaultInjector([new FaultRule(Stage.Denoise, action, faultChunk, step, Times: 2)]);
        var (faulty, _) = PipelineFixture.Start(Sys, faults, wrap: e => e with { Denoise = denoise = new ObservedDenoiseEngine(e.Denoise) });
        var handle = await faulty.StartAsync(request);
        var actual = await PipelineFixture.Collect(handle);

        var cache = denoise!.Caches[handle.StreamId];
        long faultStart = (long)faultChunk * denoise.FramesPerChunk * cache.TokensPerFrame;
        Assert.True(cache.Rolling && faultStart >= cache.CapacityTokens,
            $"the faulted chunk starts at token {faultStart}, inside the first pass of the {cache.CapacityTokens}-token ring: nothing had wrapped");
        Assert.Equal(2, faults.Injected.Count);
        PipelineFixture.AssertIdentical(expected, actual, $"{action} of denoise at step {step} after the ring wrapped");
    }

    [Fact]
    public async Task Faults_configured_from_hocon_strike_the_context_pass()
    {
        var config = Akka.Configuration.ConfigurationFactory.ParseString("""
            rules = [ { stage = denoise, chunk = 1, step = -1, action = kill, times = 1 },
                      { stage = vae-decode, chunk = 3, action = poison-pill } ]
            """);
        var faults = FaultInjector.FromConfig(config);
        var (clean, _) = PipelineFixture.Start(Sys);
        var expected = await PipelineFixture.Run(clean, Request);
        var (faulty, _) = PipelineFixture.Start(Sys, faults);
        PipelineFixture.AssertIdentical(expected, await PipelineFixture.Run(faulty, Request), "hocon faults");
        Assert.Equal(2, faults.Injected.Count);
    }

    [Fact]
    public async Task A_chunk_that_keeps_failing_fails_only_its_stream()
    {
        // Stream ids are random: target the doomed stream by its prompt. Every attempt of its chunk 1 fails.
        var faults = new FaultInjector([new FaultRule(Stage.Denoise, FaultAction.Throw, Chunk: 1, Prompt: "doomed", Times: 3)]);
        var (p, _) = PipelineFixture.Start(Sys, faults);
        var doomed = await p.StartAsync(Request with { Prompt = "doomed" });
        var healthy = await p.StartAsync(Request with { Seed = 8 });
        Assert.NotEqual(doomed.StreamId, healthy.StreamId);
        var ex = await Assert.ThrowsAsync<StreamFailedException>(() => PipelineFixture.Collect(doomed));
        Assert.Contains("denoise-chunk failed on chunk 1 after 3 attempt(s)", ex.Message);
        Assert.Contains("injected fault", ex.Message);
        Assert.Equal(4, (await PipelineFixture.Collect(healthy)).Count);
        await AwaitAssertAsync(async () => Assert.Empty((await p.CacheStateAsync()).CommittedChunks), TimeSpan.FromSeconds(10));
        var status = await p.StatusAsync(doomed.StreamId);
        Assert.Equal(StreamPhase.Failed, status.Phase);
        Assert.Contains("chunk 1", status.Error);
    }

    [Fact]
    public async Task Device_out_of_memory_is_reported_as_such()
    {
        var faults = new FaultInjector([new FaultRule(Stage.Decode, FaultAction.OutOfMemory, Chunk: 0, Times: 3)]);
        var (p, _) = PipelineFixture.Start(Sys, faults);
        var ex = await Assert.ThrowsAsync<StreamFailedException>(async () => await PipelineFixture.Run(p, Request));
        Assert.Contains("vae-decode failed on chunk 0 after 3 attempt(s): device out of memory", ex.Message);
    }

    [Fact]
    public async Task Random_faults_across_all_stages_lose_and_duplicate_nothing()
    {
        const int streams = 6;
        var requests = Enumerable.Range(0, streams).Select(i => new StreamRequest($"prompt {i}", Seed: 100 + i, Chunks: 3)).ToList();
        var (clean, _) = PipelineFixture.Start(Sys);
        var expected = new List<List<EncodedChunk>>();
        foreach (var r in requests) expected.Add(await PipelineFixture.Run(clean, r));

        var faults = new FaultInjector([], randomSeed: 2024, probability: 0.2);
        var (faulty, _) = PipelineFixture.Start(Sys, faults);
        var handles = new List<StreamHandle>();
        foreach (var r in requests) handles.Add(await faulty.StartAsync(r));
        var actual = await Task.WhenAll(handles.Select(h => PipelineFixture.Collect(h, TimeSpan.FromSeconds(120))));

        int lost = 0, duplicated = 0, mismatched = 0;
        for (int s = 0; s < streams; s++)
        {
            var indices = actual[s].Select(c => c.Chunk).ToList();
            lost += Enumerable.Range(0, 3).Count(i => !indices.Contains(i));
            duplicated += indices.Count - indices.Distinct().Count();
            mismatched += actual[s].Count(c => c.Chunk < 3 && !c.Rgb.AsSpan().SequenceEqual(expected[s][c.Chunk].Rgb));
        }
        var report = $"streams={streams} faults={faults.Injected.Count} lost={lost} duplicated={duplicated} mismatched={mismatched}";
        Console.WriteLine(report);
        Assert.True(faults.Injected.Count > 0, "no fault was injected: " + report);
        Assert.True(lost == 0 && duplicated == 0 && mismatched == 0, report);
    }
}
