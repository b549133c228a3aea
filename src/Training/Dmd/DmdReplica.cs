using SelfForcing.Training.Objectives;
using SelfForcing.Training.Randomness;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SelfForcing.Training.Dmd;

/// <summary>
/// One copy of the three networks on one device: the generator (its rollout), the frozen teacher and the critic. A trainer
/// has one replica per device; each computes the gradients of its share of the batch, and the trainer averages them.
/// </summary>
public sealed class DmdReplica
{
    private readonly DmdGeneratorLoss _generatorLoss;
    private readonly DmdCriticLoss _criticLoss;

    public SelfForcingRollout Rollout { get; }
    public ScoreNetwork RealScore { get; }
    public ScoreNetwork FakeScore { get; }
    public IReadOnlyList<(string Name, Parameter Param)> GeneratorParams { get; }
    public IReadOnlyList<(string Name, Parameter Param)> CriticParams { get; }
    /// <summary>The device the replica's networks live on (its generator's first parameter).</summary>
    public Device Device => GeneratorParams[0].Param.device;

    public DmdReplica(SelfForcingRollout rollout, ScoreNetwork realScore, ScoreNetwork fakeScore, DmdSettings settings)
    {
        Rollout = rollout; RealScore = realScore; FakeScore = fakeScore;
        fakeScore.Model.GradientCheckpointing = settings.GradientCheckpointing;
        rollout.Generator.Model.GradientCheckpointing = settings.GradientCheckpointing;
        // The teacher is frozen: it never holds a gradient, so no optimiser or clip can touch it.
        foreach (var p in realScore.Model.parameters()) p.requires_grad_(false);
        GeneratorParams = rollout.Generator.Model.named_parameters().Select(p => (p.name, p.parameter)).ToList();
        CriticParams = fakeScore.Model.named_parameters().Select(p => (p.name, p.parameter)).ToList();
        var scheduler = rollout.Generator.Scheduler;
        _generatorLoss = new DmdGeneratorLoss(realScore, fakeScore, scheduler)
        {
            RealGuidanceScale = settings.GuidanceScale, TimestepShift = settings.TimestepShift, MinStep = settings.MinStep, MaxStep = settings.MaxStep,
            MinScoreTimestep = settings.MinScoreTimestep,
        };
        _criticLoss = new DmdCriticLoss(fakeScore, scheduler)
        {
            TimestepShift = settings.TimestepShift, MinStep = settings.MinStep, MaxStep = settings.MaxStep, MinScoreTimestep = settings.MinScoreTimestep,
        };
    }

    /// <summary>Generator phase on this replica's prompts: rollout (gradient through the exit calls), DMD loss, backward.</summary>
    /// <returns>The loss and mean |DMD gradient| of this share.</returns>
    public (double Loss, double DmdGradientNorm) GeneratorGradients(Tensor prompts, Tensor negative, long[] latentShape, ITrainingRandom random)
    {
        using var scope = NewDisposeScope();
        var noise = random.Randn([prompts.shape[0], .. latentShape], ScalarType.Float32, prompts.device, "rollout noise");
        var rollout = Rollout.Run(noise, prompts, random);
        var loss = _generatorLoss.Compute(rollout.Output, prompts, negative, random);
        loss.Loss.backward();
        return (loss.Loss.item<double>(), loss.DmdGradientNorm.to(ScalarType.Float64).item<double>());
    }

    /// <summary>Critic phase: a fresh rollout without gradient, the critic's flow loss, backward into the critic.</summary>
    public double CriticGradients(Tensor prompts, long[] latentShape, ITrainingRandom random)
    {
        using var scope = NewDisposeScope();
        Tensor latents;
        using (no_grad())
        {
            var noise = random.Randn([prompts.shape[0], .. latentShape], ScalarType.Float32, prompts.device, "rollout noise");
            latents = Rollout.Run(noise, prompts, random).Output;
        }
        var loss = _criticLoss.Compute(latents, prompts, random);
        loss.Loss.backward();
        return loss.Loss.to(ScalarType.Float64).item<double>();
    }

    public static void ZeroGrad(IEnumerable<(string Name, Parameter Param)> ps)
    {
        foreach (var (_, p) in ps)
        {
            p.grad?.Dispose();
            p.grad = null;
        }
    }
}
