using SelfForcing.Model.Dit;
using SelfForcing.Model.Sampling;
using SelfForcing.Training.Randomness;
using static TorchSharp.torch;

namespace SelfForcing.Training.Objectives;

/// <summary>The ODE-regression loss and its intermediates.</summary>
public sealed record OdeRegressionLossResult(
    Tensor Loss, Tensor UnnormalizedLoss, Tensor Index, Tensor Timestep, Tensor NoisyInput, Tensor FlowPred, Tensor PredX0);

/// <summary>
/// ODE-regression initialisation of the causal generator (reference <c>model/ode_regression.py</c>): per 3-frame chunk a
/// random entry of a stored teacher ODE trajectory is the input, the generator (one cache-free block-causal pass) predicts
/// x0, and the loss is the MSE to the trajectory's clean end over frames whose timestep is not 0.
/// </summary>
public sealed class OdeRegressionLoss
{
    public CausalWanModel Generator { get; }
    /// <summary>The generator wrapper's scheduler (shift 5).</summary>
    public FlowMatchScheduler Scheduler { get; }
    /// <summary>Timesteps of the trajectory entries (the reference's <c>denoising_step_list</c>, warped when configured).</summary>
    public IReadOnlyList<long> DenoisingSteps { get; }

    /// <summary>The steps as given; float (warped steps such as 937.5) when built from floats, else the integers of <see cref="DenoisingSteps"/>.</summary>
    private readonly float[]? _floatSteps;

    public OdeRegressionLoss(CausalWanModel generator, FlowMatchScheduler scheduler, IReadOnlyList<long> denoisingSteps)
    {
        Generator = generator; Scheduler = scheduler; DenoisingSteps = denoisingSteps;
        if (denoisingSteps.Count == 0) throw new ArgumentException("the denoising step list is empty", nameof(denoisingSteps));
    }

    /// <summary>
    /// With float timesteps (the reference with <c>warp_denoising_step: true</c>, where the list is the scheduler's float
    /// grid values, or the timesteps an ODE-pairs file recorded); the generator is told them as float32.
    /// </summary>
    public OdeRegressionLoss(CausalWanModel generator, FlowMatchScheduler scheduler, IReadOnlyList<float> denoisingSteps)
        : this(generator, scheduler, denoisingSteps.Select(s => (long)Math.Round(s)).ToArray())
    {
        _floatSteps = denoisingSteps.ToArray();
    }

    /// <summary>The network the forward runs with (a bf16 compute copy under mixed precision); <see cref="Generator"/> when null.</summary>
    public CausalWanModel? ComputeNetwork { get; set; }

    /// <param name="odeLatent">[B, S+1, F, C, H, W]: trajectory entries at the S denoising steps, most noisy first, then the clean result.</param>
    public OdeRegressionLossResult Compute(Tensor odeLatent, Tensor promptEmbeds, ITrainingRandom random)
    {
        using var scope = NewDisposeScope();
        if (odeLatent.dim() != 6) throw new ArgumentException($"ODE latents must be [B, S, F, C, H, W], got [{string.Join(", ", odeLatent.shape)}]");
        long b = odeLatent.shape[0], f = odeLatent.shape[2];
        int perBlock = Generator.Config.NumFramePerBlock;
        if (f % perBlock != 0) throw new ArgumentException($"{f} frames do not split into chunks of {perBlock}");
        if (odeLatent.shape[1] <= DenoisingSteps.Count)
            throw new ArgumentException($"the trajectory has {odeLatent.shape[1]} entries, need {DenoisingSteps.Count} steps + the clean result");

        var draw = random.RandInt(0, DenoisingSteps.Count, [b, f], "ODE trajectory index").to(odeLatent.device);
        // Every frame of a chunk takes its first frame's draw (reference _get_timestep, uniform_timestep=False).
        var index = draw.view(b, f / perBlock, perBlock).select(2, 0).unsqueeze(2).expand(b, f / perBlock, perBlock).reshape(b, f);
        var steps = _floatSteps is null ? tensor(DenoisingSteps.ToArray(), ScalarType.Int64, index.device) : tensor(_floatSteps, ScalarType.Float32, index.device);
        var timestep = steps.index(index.flatten()).view(b, f);
        var gatherIndex = index.view(b, 1, f, 1, 1, 1).expand(b, 1, f, odeLatent.shape[3], odeLatent.shape[4], odeLatent.shape[5]);
        var noisy = odeLatent.gather(1, gatherIndex).squeeze(1);
        var target = odeLatent.select(1, odeLatent.shape[1] - 1);

        var network = ComputeNetwork ?? Generator;
        var dtype = network.parameters().First().dtype; // bf16 under mixed precision; then the flow comes back as the data's dtype
        var flow = network.ForwardBlockCausal(noisy.to(dtype).permute(0, 2, 1, 3, 4), timestep, promptEmbeds.to(dtype)).permute(0, 2, 1, 3, 4)
            .to(noisy.dtype);
        var x0 = Scheduler.FlowToX0(flow.flatten(0, 1), noisy.flatten(0, 1), timestep.flatten()).unflatten(0, [b, f]);

        var mask = timestep.ne(0); // [B, F]
        var loss = nn.functional.mse_loss(x0.index(mask), target.index(mask));
        Tensor unnormalized;
        using (no_grad())
            unnormalized = (x0 - target).square().mean([1, 2, 3, 4]); // the reference logs it over every frame
        var result = new OdeRegressionLossResult(loss, unnormalized, index, timestep, noisy, flow, x0);
        foreach (var t in new[] { loss, unnormalized, index, timestep, noisy, flow, x0 }) t.MoveToOuterDisposeScope();
        return result;
    }
}
