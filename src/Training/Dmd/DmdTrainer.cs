using SelfForcing.Model.Sampling;
using SelfForcing.Training.Objectives;
using SelfForcing.Training.Optim;
using SelfForcing.Training.Randomness;
using TorchSharp.Modules;
using static TorchSharp.torch;
using AdamW = SelfForcing.Training.Optim.AdamW;

namespace SelfForcing.Training.Dmd;

/// <summary>What one trainer step did (the generator phase only runs every <c>dfake_gen_update_ratio</c> steps).</summary>
public sealed record DmdStepReport(
    long Step, bool TrainedGenerator, double? GeneratorLoss, double? GeneratorGradNorm, double? DmdGradientNorm,
    double CriticLoss, double CriticGradNorm, bool EmaActive);

/// <summary>
/// The outer loop of the reference's <c>trainer/distillation.py</c> for DMD, one step at a time: on generator steps a
/// Self-Forcing rollout (gradient through the exit calls) scored by the DMD loss, then clip and AdamW (and the EMA);
/// on every step a fresh no-grad rollout trains the critic's flow loss. Each phase takes its own prompt batch. The step
/// counter counts critic updates; the EMA is created from the current weights when it reaches <c>ema_start_step</c>.
/// </summary>
public sealed class DmdTrainer : IDisposable
{
    private readonly List<(string Name, Parameter Param)> _generatorParams;
    private readonly List<(string Name, Parameter Param)> _criticParams;
    private readonly AdamW _generatorOptimizer;
    private readonly AdamW _criticOptimizer;
    private readonly DmdGeneratorLoss _generatorLoss;
    private readonly DmdCriticLoss _criticLoss;
    private readonly ITrainingRandom _random;

    public SelfForcingRollout Rollout { get; }
    public ScoreNetwork RealScore { get; }
    public ScoreNetwork FakeScore { get; }
    public DmdSettings Settings { get; }
    /// <summary>Latent shape of one sample [F, C, H, W].</summary>
    public long[] LatentShape { get; }
    public long Step { get; private set; }
    public ExponentialMovingAverage? Ema { get; private set; }

    public DmdTrainer(SelfForcingRollout rollout, ScoreNetwork realScore, ScoreNetwork fakeScore, long[] latentShape, DmdSettings settings,
        ITrainingRandom random)
    {
        if (latentShape.Length != 4) throw new ArgumentException("latent shape must be [F, C, H, W]", nameof(latentShape));
        Rollout = rollout; RealScore = realScore; FakeScore = fakeScore; LatentShape = latentShape;
        Settings = settings.Validate();
        _random = random;
        // The teacher is frozen: it never holds a gradient, so no optimiser or clip can touch it.
        foreach (var p in realScore.Model.parameters()) p.requires_grad_(false);
        _generatorParams = rollout.Generator.Model.named_parameters().Select(p => (p.name, p.parameter)).ToList();
        _criticParams = fakeScore.Model.named_parameters().Select(p => (p.name, p.parameter)).ToList();
        _generatorOptimizer = new AdamW(_generatorParams, settings.Optimizers.Generator);
        _criticOptimizer = new AdamW(_criticParams, settings.Optimizers.Critic);
        var scheduler = rollout.Generator.Scheduler;
        _generatorLoss = new DmdGeneratorLoss(realScore, fakeScore, scheduler)
        {
            RealGuidanceScale = settings.GuidanceScale, TimestepShift = settings.TimestepShift, MinStep = settings.MinStep, MaxStep = settings.MaxStep,
        };
        _criticLoss = new DmdCriticLoss(fakeScore, scheduler)
        {
            TimestepShift = settings.TimestepShift, MinStep = settings.MinStep, MaxStep = settings.MaxStep,
        };
    }

    /// <param name="generatorPrompts">[B, text_len, text_dim] for the generator phase (ignored on critic-only steps).</param>
    /// <param name="criticPrompts">[B, text_len, text_dim] for the critic phase.</param>
    /// <param name="negativePrompts">[B, text_len, text_dim] the negative prompt's embeddings (the teacher's unconditional branch).</param>
    public DmdStepReport TrainStep(Tensor generatorPrompts, Tensor criticPrompts, Tensor negativePrompts)
    {
        bool trainGenerator = Step % Settings.DfakeGenUpdateRatio == 0;
        double? genLoss = null, genNorm = null, dmdNorm = null;
        if (trainGenerator)
        {
            using var scope = NewDisposeScope();
            _generatorOptimizer.ZeroGrad();
            var noise = Noise(generatorPrompts);
            var rollout = Rollout.Run(noise, generatorPrompts, _random);
            var loss = _generatorLoss.Compute(rollout.Output, generatorPrompts, negativePrompts, _random);
            loss.Loss.backward();
            genNorm = GradientClipping.ClipGradNorm(_generatorParams.Select(p => (Tensor)p.Param), Settings.MaxGradNorm);
            _generatorOptimizer.Step();
            Ema?.Update(_generatorParams);
            genLoss = loss.Loss.item<double>();
            dmdNorm = loss.DmdGradientNorm.to(ScalarType.Float64).item<double>();
        }

        double criticLoss, criticNorm;
        using (var scope = NewDisposeScope())
        {
            _criticOptimizer.ZeroGrad();
            Tensor latents;
            using (no_grad())
                latents = Rollout.Run(Noise(criticPrompts), criticPrompts, _random).Output;
            var loss = _criticLoss.Compute(latents, criticPrompts, _random);
            loss.Loss.backward();
            criticNorm = GradientClipping.ClipGradNorm(_criticParams.Select(p => (Tensor)p.Param), Settings.MaxGradNorm);
            _criticOptimizer.Step();
            criticLoss = loss.Loss.to(ScalarType.Float64).item<double>();
        }

        Step++;
        if (Step >= Settings.EmaStartStep && Ema is null && Settings.EmaWeight > 0)
            Ema = new ExponentialMovingAverage(_generatorParams, Settings.EmaWeight);
        return new DmdStepReport(Step, trainGenerator, genLoss, genNorm, dmdNorm, criticLoss, criticNorm, Ema is not null);
    }

    /// <summary>
    /// What a resumed run needs beyond the weights, as named tensors: both optimisers' moments and step counts
    /// (<c>generator_optimizer.*</c>, <c>critic_optimizer.*</c>), the EMA shadow (<c>ema.*</c>), the step counter
    /// (<c>step</c>) and the random source's position (<c>random</c>). Tensors are live or fresh; the caller saves them
    /// inside a dispose scope.
    /// </summary>
    public IEnumerable<KeyValuePair<string, Tensor>> ExportResumeState()
    {
        var random = _random as IResumableTrainingRandom
            ?? throw new InvalidOperationException($"the training random source ({_random.GetType().Name}) cannot save its state");
        foreach (var (k, t) in _generatorOptimizer.ExportState()) yield return new($"generator_optimizer.{k}", t);
        foreach (var (k, t) in _criticOptimizer.ExportState()) yield return new($"critic_optimizer.{k}", t);
        if (Ema is not null)
            foreach (var (k, t) in Ema.Shadow) yield return new($"ema.{k}", t);
        yield return new("step", tensor(Step));
        yield return new("random", random.SaveState());
    }

    /// <summary>Restores what <see cref="ExportResumeState"/> wrote (the weights are restored separately).</summary>
    public void RestoreResumeState(IReadOnlyDictionary<string, Tensor> state)
    {
        var random = _random as IResumableTrainingRandom
            ?? throw new InvalidOperationException($"the training random source ({_random.GetType().Name}) cannot restore a state");
        Dictionary<string, Tensor> Group(string prefix) => state.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value, StringComparer.Ordinal);
        if (!state.TryGetValue("step", out var step) || !state.TryGetValue("random", out var rng))
            throw new ArgumentException("trainer state lacks 'step' or 'random'");
        _generatorOptimizer.ImportState(Group("generator_optimizer."));
        _criticOptimizer.ImportState(Group("critic_optimizer."));
        var shadow = Group("ema.");
        Ema?.Dispose();
        Ema = shadow.Count > 0 ? ExponentialMovingAverage.FromShadow(shadow, Settings.EmaWeight) : null;
        Step = step.to(ScalarType.Int64).item<long>();
        random.RestoreState(rng);
    }

    private Tensor Noise(Tensor prompts)
    {
        var device = prompts.device;
        long[] shape = [prompts.shape[0], .. LatentShape];
        return _random.Randn(shape, ScalarType.Float32, device, "rollout noise");
    }

    public void Dispose()
    {
        _generatorOptimizer.Dispose();
        _criticOptimizer.Dispose();
        Ema?.Dispose();
    }
}
