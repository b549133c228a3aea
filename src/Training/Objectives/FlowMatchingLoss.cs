using SelfForcing.Model.Dit;
using SelfForcing.Model.Sampling;
using SelfForcing.Training.Randomness;
using static TorchSharp.torch;

namespace SelfForcing.Training.Objectives;

/// <summary>The flow-matching loss and its intermediates.</summary>
public sealed record FlowMatchingLossResult(Tensor Loss, Tensor Timestep, Tensor NoisyLatents, Tensor FlowPred, Tensor Target, Tensor Weight);

/// <summary>
/// Flow-matching training of a bidirectional Wan DiT on clean latents, as the reference trains diffusion models
/// (<c>model/diffusion.py</c> with <c>utils/scheduler.py</c>; DiffSynth's Wan trainer is the same): ε ~ N(0, I); a grid
/// index u uniform in [0, 1000) per sample, t = the scheduler's timesteps[u] (its shift skews t toward high noise);
/// x_t = (1 − σ)·x0 + σ·ε; target ε − x0 (the flow the DiT predicts, so x0 = x_t − σ·flow); loss = mean over frames of the
/// per-frame MSE weighted by the scheduler's training weight at t (optional). One t per sample: the bidirectional model
/// takes one timestep per video (the causal trainer's per-chunk timesteps do not apply).
/// </summary>
public sealed class FlowMatchingLoss
{
    /// <summary>Its grid (shift) is where t is drawn from; σ = t/1000 whatever the shift.</summary>
    public FlowMatchScheduler Scheduler { get; }
    /// <summary>Weight each sample by the scheduler's <c>training_weight(t)</c> (a bump around t = 500), as the reference does.</summary>
    public bool UseTrainingWeight { get; init; } = true;

    public FlowMatchingLoss(FlowMatchScheduler scheduler) => Scheduler = scheduler;

    /// <param name="model">the network to run (its parameters' dtype decides the input cast; the loss is float32).</param>
    /// <param name="latents">[B, F, C, H, W] clean latents.</param>
    /// <param name="promptEmbeds">[B, text_len, text_dim].</param>
    /// <param name="positionWeights">optional [B, F, 1 or C, H, W] weights of each latent value's squared error (a
    /// weighted mean per frame, so the loss keeps its scale).</param>
    public FlowMatchingLossResult Compute(WanModel model, Tensor latents, Tensor promptEmbeds, ITrainingRandom random, Tensor? positionWeights = null)
    {
        using var scope = NewDisposeScope();
        if (latents.dim() != 5) throw new ArgumentException($"latents must be [B, F, C, H, W], got [{string.Join(", ", latents.shape)}]");
        long b = latents.shape[0], f = latents.shape[1];
        var x = latents.detach().to(ScalarType.Float32);
        Tensor timestep, noisy, target, weight;
        using (no_grad())
        {
            // Draw order of the reference: randn_like(clean) first, then the timestep index.
            var noise = random.Randn(x.shape, ScalarType.Float32, x.device, "flow-matching noise");
            var index = random.RandInt(0, Scheduler.NumTrainTimesteps, [b], "flow-matching timestep index").data<long>().ToArray();
            var t = index.Select(i => Scheduler.Timesteps[(int)i]).ToArray();
            timestep = tensor(t, ScalarType.Float32).to(x.device);
            var perFrame = timestep.unsqueeze(1).expand(b, f).flatten();
            noisy = Scheduler.AddNoise(x.flatten(0, 1), noise.flatten(0, 1), perFrame).unflatten(0, [b, f]);
            target = noise - x;
            weight = UseTrainingWeight
                ? tensor(t.Select(Scheduler.TrainingWeight).ToArray(), ScalarType.Float32).to(x.device)
                : ones([b], ScalarType.Float32, x.device);
        }
        var dtype = model.parameters().First().dtype;
        var flow = model.Forward(noisy.to(dtype).permute(0, 2, 1, 3, 4), timestep, promptEmbeds.to(dtype))
            .permute(0, 2, 1, 3, 4).to(ScalarType.Float32);
        var error = (flow - target).square();
        var perFrameLoss = positionWeights is null
            ? error.mean([2, 3, 4]) // [B, F]
            : error.mul(positionWeights).sum([2, 3, 4]).div(positionWeights.expand_as(error).sum([2, 3, 4]));
        var loss = (perFrameLoss * weight.unsqueeze(1)).mean();
        var result = new FlowMatchingLossResult(loss, timestep, noisy, flow, target, weight);
        foreach (var t in new[] { loss, timestep, noisy, flow, target, weight }) t.MoveToOuterDisposeScope();
        return result;
    }
}
