using SelfForcing.Model.Dit;
using SelfForcing.Model.Sampling;
using static TorchSharp.torch;

namespace SelfForcing.Training.Objectives;

/// <summary>
/// The reference's <c>WanDiffusionWrapper</c> around a bidirectional <see cref="WanModel"/> (the real and fake scores):
/// pipeline layout in and out, one timestep per sample (<c>timestep[:, 0]</c>), and x0 = x_t − σ(t)·flow on the wrapper's
/// own scheduler grid (shift 8 for the score networks), per frame, in float64.
/// </summary>
public sealed class ScoreNetwork
{
    public WanModel Model { get; }
    public FlowMatchScheduler Scheduler { get; }

    /// <summary>The dtype the model computes in (bf16 for a mixed-precision compute copy); inputs are cast to it.</summary>
    public ScalarType DType { get; }

    public ScoreNetwork(WanModel model, double schedulerShift = 8.0)
    {
        Model = model;
        Scheduler = new FlowMatchScheduler(schedulerShift);
        DType = model.parameters().First().dtype;
    }

    /// <param name="noisy">[B, F, C, H, W].</param>
    /// <param name="timestep">[B, F] (float); the network sees timestep[:, 0].</param>
    public ScorePrediction Predict(Tensor noisy, Tensor promptEmbeds, Tensor timestep)
    {
        using var scope = NewDisposeScope();
        if (timestep.dim() != 2 || timestep.shape[0] != noisy.shape[0] || timestep.shape[1] != noisy.shape[1])
            throw new ArgumentException($"timestep must be [B, F] = [{noisy.shape[0]}, {noisy.shape[1]}], got [{string.Join(", ", timestep.shape)}]");
        // The flow comes back in the input's dtype (float32 data around a bf16 model under mixed precision).
        var flow = Model.Forward(noisy.permute(0, 2, 1, 3, 4).to(DType), timestep.select(1, 0), promptEmbeds.to(DType))
            .permute(0, 2, 1, 3, 4).to(noisy.dtype);
        var x0 = Scheduler.FlowToX0(flow.flatten(0, 1), noisy.flatten(0, 1), timestep.flatten()).unflatten(0, [noisy.shape[0], noisy.shape[1]]);
        return new ScorePrediction(flow.MoveToOuterDisposeScope(), x0.MoveToOuterDisposeScope());
    }
}
