using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Stages;
using static TorchSharp.torch;

namespace SelfForcing.Actors.Tests;

/// <summary>
/// The cache owner closes handles on its thread while the denoise worker runs chunks on its own: a cache closed under
/// a running chunk (the node stopping, the stream ending) must be freed when that call returns, not under it.
/// </summary>
public class StreamCachesTests
{
    private sealed class Flag : IDisposable
    {
        public int Disposals { get; private set; }
        public void Dispose() => Disposals++;
    }

    [Fact]
    public void Closing_a_cache_mid_chunk_frees_it_and_what_came_with_it_when_the_chunk_returns()
    {
        using var engines = PipelineEngines.Tiny(PipelineFixture.Settings);
        var denoise = new ObservedDenoiseEngine(engines.Denoise);
        var caches = new StreamCaches(denoise);
        var spec = new StreamSpec("s", "a", 7, 8, 8, 3, 16, "preview");
        var handle = caches.Open(spec);
        var cache = denoise.Caches["s"];
        using var conditioning = engines.Text.Encode("a fox");
        var alsoFree = new Flag();
        bool aliveAfterClose = false;
        using var noGrad = no_grad();
        using var x0 = caches.DenoiseChunk(handle, spec, 0, conditioning, step =>
        {
            if (step != 0) return;
            caches.Close(handle, [alsoFree]);
            aliveAfterClose = !cache.IsDisposed && alsoFree.Disposals == 0;
        });
        Assert.True(aliveAfterClose, "the cache (or what came with it) was freed under the running chunk");
        Assert.True(cache.IsDisposed, "the cache closed mid-chunk was not freed when the chunk returned");
        Assert.Equal(1, alsoFree.Disposals);
        var e = Assert.Throws<InvalidOperationException>(() => caches.CommitChunk(handle, 0, x0, conditioning));
        Assert.Contains("closed", e.Message);
    }

    [Fact]
    public void Closing_an_idle_cache_frees_it_at_once_and_only_once()
    {
        using var engines = PipelineEngines.Tiny(PipelineFixture.Settings);
        var denoise = new ObservedDenoiseEngine(engines.Denoise);
        var caches = new StreamCaches(denoise);
        var handle = caches.Open(new StreamSpec("idle", "a", 7, 8, 8, 3, 16, "preview"));
        var alsoFree = new Flag();
        caches.Close(handle, [alsoFree]);
        Assert.True(denoise.Caches["idle"].IsDisposed);
        Assert.Equal(1, alsoFree.Disposals);
        caches.Close(handle);
        caches.CloseAll();
        Assert.Equal(1, alsoFree.Disposals);
    }
}
