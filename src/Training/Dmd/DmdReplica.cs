using SelfForcing.Model.Dit;
using SelfForcing.Training.Objectives;
using SelfForcing.Training.Precision;
using SelfForcing.Training.Randomness;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SelfForcing.Training.Dmd;

/// <summary>
/// One copy of the three networks on one device: the generator (its rollout), the frozen teacher and the critic. A trainer
/// has one replica per device; each computes the gradients of its share of the batch, and the trainer averages them.
/// <para>
/// With <see cref="DmdSettings.MixedPrecision"/> every network computes in a bf16 copy (<see cref="ComputeWeights{T}"/>):
/// each phase first casts the current float32 weights into the copies, and hands the copies' gradients back to the float32
/// weights (<see cref="GeneratorParams"/>, <see cref="CriticParams"/>), where the trainer clips, steps and averages as in
/// float32. Without it the copies are the networks themselves and nothing is cast.
/// </para>
/// </summary>
public sealed class DmdReplica : IDisposable
{
    private readonly DmdGeneratorLoss _generatorLoss;
    private readonly DmdCriticLoss _criticLoss;
    private readonly ComputeWeights<CausalWanModel> _generator;
    private readonly ComputeWeights<WanModel> _teacher;
    private readonly ComputeWeights<WanModel> _critic;
    private readonly SelfForcingRollout _computeRollout;
    private readonly DmdSettings _settings;

    public SelfForcingRollout Rollout { get; }
    public ScoreNetwork RealScore { get; }
    public ScoreNetwork FakeScore { get; }
    public IReadOnlyList<(string Name, Parameter Param)> GeneratorParams { get; }
    public IReadOnlyList<(string Name, Parameter Param)> CriticParams { get; }
    /// <summary>The device the replica's networks live on (its generator's first parameter).</summary>
    public Device Device => GeneratorParams[0].Param.device;
    /// <summary>The generator the rollout computes with: the trained one, or its bf16 copy under mixed precision.</summary>
    public CausalWanModel ComputeGenerator => _generator.Compute;
    /// <summary>The critic model that computes (itself, or its bf16 copy).</summary>
    public WanModel ComputeCritic => _critic.Compute;

    public DmdReplica(SelfForcingRollout rollout, ScoreNetwork realScore, ScoreNetwork fakeScore, DmdSettings settings)
    {
        Rollout = rollout; RealScore = realScore; FakeScore = fakeScore;
        _settings = settings;
        fakeScore.Model.GradientCheckpointing = settings.GradientCheckpointing;
        rollout.Generator.Model.GradientCheckpointing = settings.GradientCheckpointing;
        // The teacher is frozen: it never holds a gradient, so no optimiser or clip can touch it.
        foreach (var p in realScore.Model.parameters()) p.requires_grad_(false);
        GeneratorParams = rollout.Generator.Model.named_parameters().Select(p => (p.name, p.parameter)).ToList();
        CriticParams = fakeScore.Model.named_parameters().Select(p => (p.name, p.parameter)).ToList();

        bool mixed = settings.MixedPrecision;
        _generator = new ComputeWeights<CausalWanModel>(rollout.Generator.Model, mixed, (c, d, t) => new CausalWanModel(c, d, t, WeightInit.Uninitialised));
        _teacher = new ComputeWeights<WanModel>(realScore.Model, mixed, (c, d, t) => new WanModel(c, d, t, WeightInit.Uninitialised));
        _critic = new ComputeWeights<WanModel>(fakeScore.Model, mixed, (c, d, t) => new WanModel(c, d, t, WeightInit.Uninitialised));
        _computeRollout = mixed ? rollout.WithGenerator(new GeneratorNetwork(_generator.Compute, rollout.Generator.Scheduler.Shift)) : rollout;
        var real = mixed ? new ScoreNetwork(_teacher.Compute, realScore.Scheduler.Shift) : realScore;
        var fake = mixed ? new ScoreNetwork(_critic.Compute, fakeScore.Scheduler.Shift) : fakeScore;
        PullTeacher();

        var scheduler = rollout.Generator.Scheduler;
        _generatorLoss = new DmdGeneratorLoss(real, fake, scheduler)
        {
            RealGuidanceScale = settings.GuidanceScale, TimestepShift = settings.TimestepShift, MinStep = settings.MinStep, MaxStep = settings.MaxStep,
            MinScoreTimestep = settings.MinScoreTimestep,
        };
        _criticLoss = new DmdCriticLoss(fake, scheduler)
        {
            TimestepShift = settings.TimestepShift, MinStep = settings.MinStep, MaxStep = settings.MaxStep, MinScoreTimestep = settings.MinScoreTimestep,
        };
    }

    /// <summary>
    /// The frozen teacher's bf16 copy takes its weights: once, and again whenever the teacher's weights are replaced
    /// (the trainer copies the primary's teacher into follower replicas).
    /// </summary>
    public void PullTeacher() => _teacher.PullWeights();

    /// <summary>Generator phase on this replica's prompts: rollout (gradient through the exit calls), DMD loss, backward.</summary>
    /// <returns>The loss and mean |DMD gradient| of this share.</returns>
    public (double Loss, double DmdGradientNorm) GeneratorGradients(Tensor prompts, Tensor negative, long[] latentShape, ITrainingRandom random)
    {
        using var scope = NewDisposeScope();
        _generator.PullWeights();
        _critic.PullWeights();
        var noise = random.Randn([prompts.shape[0], .. latentShape], ScalarType.Float32, prompts.device, "rollout noise");
        var rollout = _computeRollout.Run(noise, prompts, random);
        var scored = ScoreWindow.Take(rollout.Output, _settings.ScoreWindowFrames, _settings.NumFramePerBlock, random);
        var loss = _generatorLoss.Compute(scored, prompts, negative, random);
        loss.Loss.backward();
        _generator.PushGradients();
        return (loss.Loss.item<double>(), loss.DmdGradientNorm.to(ScalarType.Float64).item<double>());
    }

    /// <summary>Critic phase: a fresh rollout without gradient, the critic's flow loss, backward into the critic.</summary>
    public double CriticGradients(Tensor prompts, long[] latentShape, ITrainingRandom random)
    {
        using var scope = NewDisposeScope();
        _generator.PullWeights();
        _critic.PullWeights();
        Tensor latents;
        using (no_grad())
        {
            var noise = random.Randn([prompts.shape[0], .. latentShape], ScalarType.Float32, prompts.device, "rollout noise");
            latents = _computeRollout.Run(noise, prompts, random).Output;
            latents = ScoreWindow.Take(latents, _settings.ScoreWindowFrames, _settings.NumFramePerBlock, random);
        }
        var loss = _criticLoss.Compute(latents, prompts, random);
        loss.Loss.backward();
        _critic.PushGradients();
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

    /// <summary>Frees the bf16 copies (none without mixed precision); the networks themselves belong to the caller.</summary>
    public void Dispose()
    {
        _generator.Dispose();
        _teacher.Dispose();
        _critic.Dispose();
    }
}
