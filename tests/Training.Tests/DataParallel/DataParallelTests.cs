using SelfForcing.Model.Dit;
using SelfForcing.Training.Dmd;
using SelfForcing.Training.Objectives;
using SelfForcing.Training.Optim;
using SelfForcing.Training.Randomness;
using static TorchSharp.torch;

namespace SelfForcing.Training.Tests.DataParallel;

/// <summary>Data parallel: N replicas on shares of a batch make the update one replica makes on the whole batch.</summary>
public class DataParallelTests
{
    // eps = 0.01 makes AdamW's step ≈ lr·g/(|g| + 0.01), smooth in g: with the usual 1e-8 the first steps are lr·sign(g), and a
    // gradient that is zero up to float noise could flip sign between the two runs and hide (or fake) a real difference.
    private static readonly AdamWSettings Opt = new(1e-2, 0.0, 0.999, 0.01, Eps: 0.01);
    private static readonly DmdSettings Settings = new()
    {
        DfakeGenUpdateRatio = 2, EmaStartStep = 1, Optimizers = new AdamWSettingsPair { Generator = Opt, Critic = Opt },
    };

    private sealed class Networks : IDisposable
    {
        public readonly CausalWanModel Gen = new(WanConfig.Tiny);
        public readonly WanModel Real = new(WanConfig.Tiny with { NumLayers = 3 });
        public readonly WanModel Fake = new(WanConfig.Tiny);
        public SelfForcingRollout Rollout { get; }

        public Networks(long seed)
        {
            Gen.InitializeRandom(seed, std: 0.1);
            Real.InitializeRandom(seed + 1, std: 0.1);
            Fake.InitializeRandom(seed + 2, std: 0.1);
            Rollout = Settings.CreateRollout(new GeneratorNetwork(Gen));
        }

        public void Dispose() { Gen.Dispose(); Real.Dispose(); Fake.Dispose(); }
    }

    private static Tensor Flat(nn.Module m) => cat(m.parameters().Select(p => p.detach().flatten()).ToArray()).clone();
    private static Tensor Grads(nn.Module m) => cat(m.parameters().Select(p => (p.grad ?? zeros_like(p)).flatten()).ToArray()).clone();

    private sealed record Outcome(Tensor Gen, Tensor Critic, Tensor Ema, Tensor GenGrad, Tensor CriticGrad, List<DmdStepReport> Reports);

    /// <param name="replicas">1: the whole batch on one replica; more: followers with other initial weights (overwritten by the primary's).</param>
    private static Outcome Train(int replicas, int batch, int steps, DmdSettings? settings = null)
    {
        settings ??= Settings;
        using var primary = new Networks(1);
        var followers = Enumerable.Range(0, replicas - 1).Select(i => new Networks(100 + 10 * i)).ToList();
        try
        {
            using var g = new Generator(5);
            using var prompts = randn([batch, WanConfig.Tiny.TextLen, WanConfig.Tiny.TextDim], generator: g);
            using var criticPrompts = randn([batch, WanConfig.Tiny.TextLen, WanConfig.Tiny.TextDim], generator: g);
            using var negative = randn([1, WanConfig.Tiny.TextLen, WanConfig.Tiny.TextDim], generator: g).expand(batch, -1, -1);
            using var random = new SeededTrainingRandom(9);
            using var trainer = new DmdTrainer(primary.Rollout, new ScoreNetwork(primary.Real), new ScoreNetwork(primary.Fake), [6, WanConfig.Tiny.InDim, 4, 4],
                settings, random, followers.Select(f => (f.Rollout, new ScoreNetwork(f.Real), new ScoreNetwork(f.Fake))).ToList());
            Assert.Equal(replicas, trainer.ReplicaCount);
            var reports = Enumerable.Range(0, steps).Select(_ => trainer.TrainStep(prompts, criticPrompts, negative)).ToList();
            // Followers hold the primary's weights after every step, bit for bit (they are copies).
            foreach (var f in followers)
            {
                Assert.True(Flat(f.Gen).eq(Flat(primary.Gen)).all().item<bool>(), "a follower's generator differs from the primary's");
                Assert.True(Flat(f.Fake).eq(Flat(primary.Fake)).all().item<bool>(), "a follower's critic differs from the primary's");
                Assert.True(Flat(f.Real).eq(Flat(primary.Real)).all().item<bool>(), "a follower's teacher differs from the primary's");
            }
            var ema = cat(trainer.Ema!.Shadow.Values.Select(t => t.flatten()).ToArray()).clone();
            return new Outcome(Flat(primary.Gen), Flat(primary.Fake), ema, Grads(primary.Gen), Grads(primary.Fake), reports);
        }
        finally
        {
            foreach (var f in followers) f.Dispose();
        }
    }

    private static void Close(Tensor expected, Tensor actual, double relative, string what)
    {
        double scale = expected.abs().max().item<float>();
        double diff = (expected - actual).abs().max().item<float>();
        Assert.True(diff <= relative * scale, $"{what}: max |diff| {diff:G3} > {relative:G1} x max |value| {scale:G3}");
    }

    [Fact]
    public void Two_replicas_on_two_rows_update_as_one_replica_on_both() => SameUpdate(2, 2);

    /// <summary>Uneven shares (2 + 1 rows): the average must be weighted by rows.</summary>
    [Fact]
    [Trait("Category", "Slow")]
    public void Uneven_shares_are_weighted_by_rows() => SameUpdate(2, 3);

    /// <summary>A score window is one draw for the whole batch: every replica must score the same chunk.</summary>
    [Fact]
    public void Replicas_score_the_same_window() => SameUpdate(2, 2, Settings with { ScoreWindowFrames = 3 });

    private static void SameUpdate(int replicas, int batch, DmdSettings? settings = null)
    {
        const int steps = 3; // generator steps 0 and 2, critic every step
        var one = Train(1, batch, steps, settings);
        var many = Train(replicas, batch, steps, settings);
        // Not bitwise: a batch-of-2 forward and two batch-of-1 forwards may sum in another order (other kernel blocking).
        // Float32 noise through a few tiny layers is ~1e-6 relative; a wrong weighting or unshared draws is O(1).
        Close(one.GenGrad, many.GenGrad, 1e-4, "generator gradient (clipped, averaged)");
        Close(one.CriticGrad, many.CriticGrad, 1e-4, "critic gradient");
        Close(one.Gen, many.Gen, 1e-5, "generator weights");
        Close(one.Critic, many.Critic, 1e-5, "critic weights");
        Close(one.Ema, many.Ema, 1e-5, "EMA");
        foreach (var (a, b) in one.Reports.Zip(many.Reports))
        {
            Assert.Equal(a.TrainedGenerator, b.TrainedGenerator);
            Assert.Equal(a.CriticLoss, b.CriticLoss, 1e-5 * Math.Abs(a.CriticLoss));
            if (a.GeneratorLoss is { } gl) Assert.Equal(gl, b.GeneratorLoss!.Value, 1e-5 * gl);
            if (a.GeneratorGradNorm is { } gn) Assert.Equal(gn, b.GeneratorGradNorm!.Value, 1e-4 * gn);
        }
        // The run must have moved the weights, or the comparison above says nothing.
        using var start = new Networks(1);
        foreach (var (after, before, what) in new[] { (one.Gen, Flat(start.Gen), "generator"), (one.Critic, Flat(start.Fake), "critic") })
        {
            double moved = (after - before).abs().max().item<float>(), scale = before.abs().max().item<float>();
            Assert.True(moved > 1e-3 * scale, $"the {what} moved only {moved:G3} (max |w| {scale:G3}): the comparison would be vacuous");
        }
    }

    [Fact]
    public void A_batch_smaller_than_the_replica_count_is_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => Train(2, 1, 1));
        Assert.Contains("cannot be split across 2 replicas", e.Message);
    }
}
