using SelfForcing.Model.Dit;
using SelfForcing.Model.Sampling;
using SelfForcing.Training.Objectives;
using SelfForcing.Training.Optim;
using SelfForcing.Training.Precision;
using SelfForcing.Training.Randomness;
using TorchSharp.Modules;
using static TorchSharp.torch;
using AdamW = SelfForcing.Training.Optim.AdamW;

namespace SelfForcing.Training.Teacher;

/// <summary>What one teacher step did.</summary>
public sealed record TeacherStepReport(long Step, double Loss, double GradNorm, double MeanTimestep);

/// <summary>
/// Trains a bidirectional <see cref="WanModel"/> (the real score of DMD, the ODE-pair teacher) with the flow-matching loss
/// on given clean latents and text embeddings: one batch per <see cref="TrainStep"/>, gradient clipping, AdamW.
/// </summary>
public sealed class TeacherTrainer : IDisposable
{
    private readonly List<(string Name, Parameter Param)> _params;
    private readonly AdamW _optimizer;
    private readonly FlowMatchingLoss _loss;
    private readonly ComputeWeights<WanModel> _weights;
    private readonly ITrainingRandom _random;

    public WanModel Model { get; }
    public TeacherSettings Settings { get; }
    public long Step { get; private set; }
    /// <summary>The weights' moving average when <see cref="TeacherSettings.EmaDecay"/> is set, else null.</summary>
    public ExponentialMovingAverage? Ema { get; }

    /// <summary>The rate of the next step (the settings' at first): a run's schedule sets it before each step.</summary>
    public double LearningRate
    {
        get => _optimizer.LearningRate;
        set => _optimizer.LearningRate = value;
    }

    public TeacherTrainer(WanModel model, TeacherSettings settings, ITrainingRandom random)
    {
        Model = model;
        Settings = settings.Validate();
        _random = random;
        model.GradientCheckpointing = settings.GradientCheckpointing;
        _params = model.named_parameters().Select(p => (p.name, p.parameter)).ToList();
        _optimizer = new AdamW(_params, settings.Optimizer);
        _loss = new FlowMatchingLoss(new FlowMatchScheduler(settings.TimestepShift)) { UseTrainingWeight = settings.UseTrainingWeight };
        _weights = new ComputeWeights<WanModel>(model, settings.MixedPrecision, (c, d, t) => new WanModel(c, d, t, WeightInit.Uninitialised));
        // The shadow stays beside the weights: on a GPU, a copy to the host per parameter per step would cost more than the update.
        if (settings.EmaDecay > 0) Ema = new ExponentialMovingAverage(_params, settings.EmaDecay, _params[0].Param.device);
    }

    /// <param name="latents">[B, F, C, H, W] clean latents.</param>
    /// <param name="promptEmbeds">[B, text_len, text_dim].</param>
    /// <param name="unconditionalEmbeds">[1 or B, text_len, text_dim]: what a dropped prompt becomes (needed when
    /// <see cref="TeacherSettings.ConditionDropout"/> is above 0).</param>
    /// <param name="positionWeights">optional [B, F, 1 or C, H, W] loss weights (<see cref="ForegroundWeights"/>).</param>
    public TeacherStepReport TrainStep(Tensor latents, Tensor promptEmbeds, Tensor? unconditionalEmbeds = null, Tensor? positionWeights = null)
    {
        using var scope = NewDisposeScope();
        if (promptEmbeds.shape[0] != latents.shape[0])
            throw new ArgumentException($"{promptEmbeds.shape[0]} prompt embeddings for {latents.shape[0]} latents");
        _optimizer.ZeroGrad();
        _weights.PullWeights();
        var prompts = DropConditions(promptEmbeds, unconditionalEmbeds);
        var loss = _loss.Compute(_weights.Compute, latents, prompts, _random, positionWeights);
        loss.Loss.backward();
        _weights.PushGradients();
        double norm = GradientClipping.ClipGradNorm(_params.Select(p => (Tensor)p.Param), Settings.MaxGradNorm);
        _optimizer.Step();
        Ema?.Update(_params);
        Step++;
        return new TeacherStepReport(Step, loss.Loss.to(ScalarType.Float64).item<double>(), norm,
            loss.Timestep.to(ScalarType.Float64).mean().item<double>());
    }

    private Tensor DropConditions(Tensor prompts, Tensor? unconditional)
    {
        if (Settings.ConditionDropout <= 0) return prompts;
        if (unconditional is null) throw new ArgumentException("condition dropout needs the unconditional embeddings", nameof(unconditional));
        const long resolution = 1_000_000;
        using var noGrad = no_grad();
        var draw = _random.RandInt(0, resolution, [prompts.shape[0]], "condition dropout");
        var drop = draw.lt((long)Math.Round(Settings.ConditionDropout * resolution)).to(prompts.device).view(-1, 1, 1);
        return where(drop, unconditional.expand_as(prompts), prompts);
    }

    public void Dispose()
    {
        _optimizer.Dispose();
        _weights.Dispose();
        Ema?.Dispose();
    }
}
