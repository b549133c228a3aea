using SelfForcing.Training.Optim;

namespace SelfForcing.Training.Teacher;

/// <summary>
/// Knobs of the teacher's flow-matching training. The reference ships no teacher recipe (its teacher is the pretrained
/// Wan 2.1); the loss follows its diffusion trainer, the optimiser defaults are PyTorch's AdamW with the reference's
/// <c>weight_decay</c>, and the learning rate suits a small model trained from scratch.
/// </summary>
public sealed record TeacherSettings
{
    public AdamWSettings Optimizer { get; init; } = new(1e-4, 0.9, 0.999, 0.01);
    public double MaxGradNorm { get; init; } = 10.0;
    /// <summary>Shift of the grid t is drawn from (the reference's generator scheduler: 5).</summary>
    public double TimestepShift { get; init; } = 5.0;
    /// <summary>Weight samples by the scheduler's training weight (reference), or uniformly.</summary>
    public bool UseTrainingWeight { get; init; } = true;
    /// <summary>
    /// Probability that a sample's prompt is replaced by the unconditional embedding, so that classifier-free guidance
    /// (the DMD teacher's <c>guidance_scale</c>, the ODE pairs' CFG) has an unconditional branch it was trained on.
    /// </summary>
    public double ConditionDropout { get; init; }
    /// <summary>Activation checkpointing per transformer block.</summary>
    public bool GradientCheckpointing { get; init; }
    /// <summary>bf16 compute with float32 master weights and optimiser.</summary>
    public bool MixedPrecision { get; init; }
    /// <summary>Decay of an exponential moving average of the weights kept beside them (0 = none): a small model's
    /// single-step weights are noisy enough to leave grain in its samples; their average does not.</summary>
    public double EmaDecay { get; init; }

    public TeacherSettings Validate()
    {
        Optimizer.Validate();
        if (!(MaxGradNorm > 0)) throw new ArgumentOutOfRangeException(nameof(MaxGradNorm), "max grad norm must be positive");
        if (!(TimestepShift > 0)) throw new ArgumentOutOfRangeException(nameof(TimestepShift), "timestep shift must be positive");
        if (!(EmaDecay >= 0 && EmaDecay < 1)) throw new ArgumentOutOfRangeException(nameof(EmaDecay), "EMA decay must be in [0, 1)");
        if (!(ConditionDropout >= 0 && ConditionDropout <= 1)) throw new ArgumentOutOfRangeException(nameof(ConditionDropout), "condition dropout must be in [0, 1]");
        return this;
    }
}
