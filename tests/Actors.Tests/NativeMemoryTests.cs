using System.Diagnostics;
using Akka.TestKit.Xunit2;
using SelfForcing.Actors.Messages;

namespace SelfForcing.Actors.Tests;

/// <summary>1,000 chunks through the whole pipeline must not grow the process: every tensor is disposed on its way.</summary>
[Trait("Category", "Slow")]
[Collection(SerialCollection.Name)]
public class NativeMemoryTests() : TestKit(PipelineHocon.Default)
{
    [Fact]
    public async Task A_thousand_chunks_leave_process_memory_flat()
    {
        var (pipeline, _) = PipelineFixture.Start(Sys);
        async Task RunChunks(int streams, int chunksEach)
        {
            var handles = new List<StreamHandle>();
            for (int i = 0; i < streams; i++) handles.Add(await pipeline.StartAsync(new StreamRequest($"memory {i}", Seed: i, Chunks: chunksEach)));
            // Count chunks without keeping them: only the pipeline's own memory is measured.
            var counts = await Task.WhenAll(handles.Select(async h =>
            {
                int n = 0;
                await foreach (var _ in h.ReadAllAsync(new CancellationTokenSource(TimeSpan.FromMinutes(10)).Token)) n++;
                return n;
            }));
            Assert.All(counts, n => Assert.Equal(chunksEach, n));
        }

        await RunChunks(4, 50); // warm-up: allocator pools, JIT, thread stacks
        long baseline = Rss();
        await RunChunks(4, 250); // 1,000 chunks
        long after = Rss();
        long growth = after - baseline;
        Console.WriteLine($"RSS after warm-up {baseline / 1048576} MiB, after 1000 chunks {after / 1048576} MiB, growth {growth / 1048576} MiB");
        Assert.True(growth < 64L * 1024 * 1024, $"process memory grew by {growth / 1048576} MiB over 1000 chunks");
        Assert.Empty((await pipeline.CacheStateAsync()).CommittedChunks);
    }

    private static long Rss()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var p = Process.GetCurrentProcess();
        p.Refresh();
        return p.WorkingSet64;
    }
}
