using SelfForcing.Model.Dit;
using SelfForcing.Model.Sampling;
using static TorchSharp.torch;

namespace SelfForcing.Training.Objectives;

/// <summary>
/// The reference's causal <c>WanDiffusionWrapper</c> (generator): pipeline layout in and out, one timestep per frame, and
/// x0 = x_t − σ(t)·flow on the generator's grid (shift 5), per frame, in float64.
/// </summary>
public sealed class GeneratorNetwork
{
    public CausalWanModel Model { get; }
    public FlowMatchScheduler Scheduler { get; }

    /// <summary>The dtype the model computes in (its parameters'; bf16 for a mixed-precision compute copy).</summary>
    public ScalarType DType { get; }

    public GeneratorNetwork(CausalWanModel model, double schedulerShift = 5.0)
    {
        Model = model;
        Scheduler = new FlowMatchScheduler(schedulerShift);
        DType = model.parameters().First().dtype;
    }

    /// <summary>
    /// One KV-cached call on a chunk: noisy [B, F, C, H, W], timestep [B, F]. The model sees its own dtype (the cache must be
    /// in it); the flow comes back in the input's dtype, so a bf16 model fits a float32 rollout.
    /// </summary>
    public ScorePrediction Predict(Tensor noisy, Tensor promptEmbeds, Tensor timestep, KvCache cache, long currentStart)
    {
        using var scope = NewDisposeScope();
        var flow = Model.Forward(noisy.permute(0, 2, 1, 3, 4).to(DType), timestep, promptEmbeds.to(DType), cache, currentStart)
            .permute(0, 2, 1, 3, 4).to(noisy.dtype);
        var x0 = Scheduler.FlowToX0(flow.flatten(0, 1), noisy.flatten(0, 1), timestep.flatten()).unflatten(0, [noisy.shape[0], noisy.shape[1]]);
        return new ScorePrediction(flow.MoveToOuterDisposeScope(), x0.MoveToOuterDisposeScope());
    }
}
