using SelfForcing.Model.Dit;
using SelfForcing.Training.Dmd;
using SelfForcing.Training.Objectives;
using SelfForcing.Training.Randomness;
using static TorchSharp.torch;

namespace SelfForcing.Training.Tests.Dmd;

/// <summary>
/// Where a generator update's gradient goes: only the exit-step generator calls run with gradient (one per chunk), and
/// neither score network — the frozen teacher, nor the critic in this phase — receives any.
/// (<see cref="Objectives.SelfForcingRolloutTests"/> checks the noise side: steps before the exit pass nothing back.)
/// </summary>
public class GradientFlowTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Only_exit_calls_carry_gradient_and_the_score_networks_get_none(bool sameStep)
    {
        using var networks = TinyDmd.SeededNetworks();
        var (gen, real, fake) = networks;
        var settings = new DmdSettings { SameStepAcrossBlocks = sameStep };
        var calls = new List<RolloutCall>();
        var rollout = settings.CreateRollout(new GeneratorNetwork(gen));
        var replica = new DmdReplica(rollout, new ScoreNetwork(real), new ScoreNetwork(fake), settings);
        using var g = new Generator(4);
        var prompts = randn([1, WanConfig.Tiny.TextLen, WanConfig.Tiny.TextDim], generator: g);
        var negative = randn([1, WanConfig.Tiny.TextLen, WanConfig.Tiny.TextDim], generator: g);

        // Observe the rollout the generator phase runs (same draws: same seed).
        rollout.Run(randn([1, 9, WanConfig.Tiny.InDim, 4, 4], generator: new Generator(6)), prompts, new SeededTrainingRandom(8), calls.Add);
        Assert.All(calls, c => Assert.Equal(c.Kind == RolloutCallKind.Exit, c.GradEnabled));
        Assert.Equal(3, calls.Count(c => c.Kind == RolloutCallKind.Exit));            // one per chunk
        Assert.Equal(3, calls.Count(c => c.Kind == RolloutCallKind.Context));
        Assert.Equal([0, 1, 2], calls.Where(c => c.Kind == RolloutCallKind.Exit).Select(c => c.Chunk));

        replica.GeneratorGradients(prompts, negative, [9, WanConfig.Tiny.InDim, 4, 4], new SeededTrainingRandom(8));
        Assert.Contains(gen.parameters(), p => p.grad is { } gr && gr.ne(0).any().item<bool>());
        Assert.All(real.parameters(), p => { Assert.False(p.requires_grad); Assert.Null(p.grad); });
        Assert.All(fake.parameters(), p => Assert.True(p.grad is null || p.grad.eq(0).all().item<bool>(), "the critic got gradient in the generator phase"));
    }

    [Fact]
    public void Per_chunk_exit_steps_follow_each_chunks_draw()
    {
        using var gen = new CausalWanModel(WanConfig.Tiny);
        gen.InitializeRandom(1, std: 0.1);
        var rollout = new DmdSettings { SameStepAcrossBlocks = false }.CreateRollout(new GeneratorNetwork(gen));
        var calls = new List<RolloutCall>();
        var random = new FixedDraw([2, 0, 3]);
        using (no_grad())
            rollout.Run(randn([1, 9, WanConfig.Tiny.InDim, 4, 4]), randn([1, WanConfig.Tiny.TextLen, WanConfig.Tiny.TextDim]), random, calls.Add);
        // Chunk c makes exit_c denoising calls, then its exit call.
        Assert.Equal([2, 0, 3], Enumerable.Range(0, 3).Select(c => calls.Count(k => k.Chunk == c && k.Kind == RolloutCallKind.Denoise)));
    }

    private sealed class FixedDraw(long[] exits) : ITrainingRandom
    {
        public Tensor RandInt(long low, long high, long[] shape, string role) => tensor(exits, ScalarType.Int64);
        public Tensor Randn(long[] shape, ScalarType dtype, Device device, string role) => zeros(shape, dtype, device);
    }
}
