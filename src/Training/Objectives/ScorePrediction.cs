using static TorchSharp.torch;

namespace SelfForcing.Training.Objectives;

/// <summary>What a wrapped network predicts for latents [B, F, C, H, W]: the raw flow and the x0 derived from it.</summary>
public sealed record ScorePrediction(Tensor Flow, Tensor X0);
