using static TorchSharp.torch;

namespace SelfForcing.Model.Sampling;

/// <summary>One generator call as the sampler made it (observer hook for tests and tracing). Tensors are only valid during the callback.</summary>
public sealed record SamplerCall(int Chunk, int Step, bool IsContextPass, float Timestep, Tensor NoisyInput, Tensor FlowPred, Tensor? X0Pred);
