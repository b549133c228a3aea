using SelfForcing.Model.Dit;
using SelfForcing.Model.Sampling;
using SelfForcing.Training.Objectives;
using SelfForcing.Training.Optim;
using SelfForcing.Training.Precision;
using SelfForcing.Training.Randomness;
using TorchSharp.Modules;
using static TorchSharp.torch;
using AdamW = SelfForcing.Training.Optim.AdamW;

namespace SelfForcing.Training.Ode;

/// <summary>What one ODE-init step did; <see cref="UnnormalizedLoss"/> is the per-sample MSE over every frame.</summary>
public sealed record OdeInitStepReport(long Step, double Loss, double GradNorm, double[] UnnormalizedLoss);

/// <summary>
/// ODE-regression initialisation of the causal student (the reference's <c>ode_init.pt</c> stage, <c>trainer/ode.py</c>):
/// per step a batch of teacher trajectories, the parity-tested <see cref="OdeRegressionLoss"/> (a random trajectory entry
/// per chunk, block-causal forward, MSE of x0 to the clean end), clipping and AdamW.
/// </summary>
public sealed class OdeInitTrainer : IDisposable
{
    private readonly List<(string Name, Parameter Param)> _params;
    private readonly AdamW _optimizer;
    private readonly OdeRegressionLoss _loss;
    private readonly ComputeWeights<CausalWanModel> _weights;
    private readonly ITrainingRandom _random;

    public CausalWanModel Generator { get; }
    public OdeInitSettings Settings { get; }
    /// <summary>The timesteps the generator is told for the trajectory entries (its few-step schedule).</summary>
    public IReadOnlyList<float> DenoisingSteps { get; }
    public long Step { get; private set; }

    /// <param name="denoisingSteps">the timesteps of the trajectory entries, most noisy first (<see cref="OdePairs.Timesteps"/>).</param>
    public OdeInitTrainer(CausalWanModel generator, IReadOnlyList<float> denoisingSteps, OdeInitSettings settings, ITrainingRandom random)
    {
        Generator = generator;
        Settings = settings.Validate();
        DenoisingSteps = denoisingSteps.ToArray();
        _random = random;
        generator.GradientCheckpointing = settings.GradientCheckpointing;
        _params = generator.named_parameters().Select(p => (p.name, p.parameter)).ToList();
        _optimizer = new AdamW(_params, settings.Optimizer);
        _weights = new ComputeWeights<CausalWanModel>(generator, settings.MixedPrecision, (c, d, t) => new CausalWanModel(c, d, t, WeightInit.Uninitialised));
        _loss = new OdeRegressionLoss(generator, new FlowMatchScheduler(settings.TimestepShift), DenoisingSteps)
        {
            ComputeNetwork = _weights.MixedPrecision ? _weights.Compute : null,
        };
    }

    /// <param name="odeLatent">[B, S+1, F, C, H, W] trajectories.</param>
    /// <param name="promptEmbeds">[B, text_len, text_dim].</param>
    public OdeInitStepReport TrainStep(Tensor odeLatent, Tensor promptEmbeds)
    {
        using var scope = NewDisposeScope();
        _optimizer.ZeroGrad();
        _weights.PullWeights();
        var device = Generator.parameters().First().device;
        var loss = _loss.Compute(odeLatent.to(ScalarType.Float32, device), promptEmbeds.to(device), _random);
        loss.Loss.backward();
        _weights.PushGradients();
        double norm = GradientClipping.ClipGradNorm(_params.Select(p => (Tensor)p.Param), Settings.MaxGradNorm);
        _optimizer.Step();
        Step++;
        return new OdeInitStepReport(Step, loss.Loss.to(ScalarType.Float64).item<double>(), norm,
            loss.UnnormalizedLoss.to(ScalarType.Float64).cpu().data<double>().ToArray());
    }

    public void Dispose()
    {
        _optimizer.Dispose();
        _weights.Dispose();
    }
}
