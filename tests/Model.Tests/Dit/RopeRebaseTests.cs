using SelfForcing.Model.Dit;
using SelfForcing.Model.Sampling;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SelfForcing.Model.Tests.Dit;

/// <summary>A rolling stream past the RoPE table's 1,024 frames: positions are re-based, attention is unchanged.</summary>
public class RopeRebaseTests(ITestOutputHelper output)
{
    private static readonly WanConfig Config = WanConfig.Tiny with { LocalAttnSize = 6, SinkSize = 1 };

    [Fact]
    public void Shifting_roped_keys_keeps_every_query_key_score()
    {
        var rope = new RotaryEmbedding(Config.HeadDim);
        var gen = new Generator(7);
        using var q = randn([1, 4, 2, Config.HeadDim], ScalarType.Float64, generator: gen);
        using var k = randn([1, 4, 2, Config.HeadDim], ScalarType.Float64, generator: gen);
        // One token per frame (1×1 grid): queries at frames 900…903, keys at 500…503, then the same 700 frames earlier.
        Tensor Rope(Tensor x, long start) { var (c, s) = rope.Tables(start, 4, 1, 1, CPU); return RotaryEmbedding.Apply(x, c, s); }
        using var scores = einsum("bqnd,bknd->bnqk", Rope(q, 900), Rope(k, 500));
        using var shiftedKeys = rope.ShiftFrames(Rope(k, 500), 700);
        using var shifted = einsum("bqnd,bknd->bnqk", Rope(q, 200), shiftedKeys);
        double err = (scores - shifted).abs().max().item<double>() / scores.abs().max().item<double>();
        Assert.True(err < 1e-12, $"scores changed by {err:E2} (relative)");
        using var unshifted = einsum("bqnd,bknd->bnqk", Rope(q, 200), Rope(k, 500));
        Assert.True((scores - unshifted).abs().max().item<double>() / scores.abs().max().item<double>() > 1e-3, "RoPE positions had no effect on the scores");
    }

    /// <summary>x0 of every chunk of a rolling stream, optionally re-based early (limit) or with keys left unrotated (the bug this guards).</summary>
    private static List<Tensor> Stream(int chunks, long ropeLimit, int forgetRotationAtChunk = -1)
    {
        using var model = new CausalWanModel(Config);
        model.InitializeRandom(3, std: 0.3); // large enough that positions visibly matter
        model.eval();
        var sampler = new SelfForcingSampler(model, SamplerSettings.Default with { NumFramePerBlock = Config.NumFramePerBlock });
        using var cache = model.CreateCache(1, Config.LocalAttnSize, 8, 8, CPU, ScalarType.Float32);
        cache.RopeFrameLimit = ropeLimit;
        using var cond = randn([1, Config.TextLen, Config.TextDim], generator: new Generator(11));
        var noise = new SeededNoiseSource(5);
        var x0s = new List<Tensor>();
        using var _ = no_grad();
        for (int c = 0; c < chunks; c++)
        {
            if (c == forgetRotationAtChunk) cache.ShiftRope(c * Config.NumFramePerBlock - Config.LocalAttnSize, k => k.clone());
            var x0 = sampler.DenoiseChunk(cache, c, cond, noise, 8, 8);
            sampler.CommitChunk(cache, c, x0, cond);
            x0s.Add(x0);
        }
        return x0s;
    }

    [Fact]
    public void A_rebased_stream_equals_the_unrebased_one()
    {
        const int chunks = 10; // 30 frames; re-based once the 24-frame limit is reached
        var plain = Stream(chunks, RotaryEmbedding.MaxPositions);
        var rebased = Stream(chunks, 24);
        var broken = Stream(chunks, RotaryEmbedding.MaxPositions, forgetRotationAtChunk: 8);
        double Rel(Tensor a, Tensor b) => (a - b).abs().max().item<float>() / b.abs().max().item<float>();
        double worst = Enumerable.Range(0, chunks).Max(i => Rel(rebased[i], plain[i]));
        double bug = Rel(broken[^1], plain[^1]);
        output.WriteLine($"re-based vs plain: {worst:E2}; keys left unrotated: {bug:E2}");
        Assert.True(worst < 1e-4, $"re-basing changed the stream by {worst:E2} (relative)");
        Assert.True(bug > 100 * Math.Max(worst, 1e-7), $"a cache whose keys were not rotated differs by only {bug:E2}: this test could not see the bug");
    }

    [Fact]
    public void A_rolling_stream_runs_past_the_reference_limit_of_1024_frames()
    {
        var x0s = Stream(chunks: 345, ropeLimit: RotaryEmbedding.MaxPositions); // 1,035 latent frames
        Assert.All(x0s, x => Assert.False(x.isnan().any().item<bool>()));
        foreach (var x in x0s) x.Dispose();
    }

    [Fact]
    public void Only_a_rolling_cache_can_be_rebased()
    {
        using var global = KvCache.Allocate(WanConfig.Tiny, 1, 9, 8, 8, CPU, ScalarType.Float32);
        Assert.Throws<InvalidOperationException>(() => global.ShiftRope(3, k => k));
    }
}
