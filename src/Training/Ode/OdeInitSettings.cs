using SelfForcing.Training.Optim;

namespace SelfForcing.Training.Ode;

/// <summary>
/// Knobs of ODE-regression initialisation (reference <c>trainer/ode.py</c>: AdamW with <c>lr</c>, <c>beta1</c>,
/// <c>beta2</c>, <c>weight_decay</c>, clipping at 10, no EMA). The reference's ODE config is not in its repository; the
/// defaults here are PyTorch's AdamW betas with the reference's weight decay and a rate for small models.
/// </summary>
public sealed record OdeInitSettings
{
    public AdamWSettings Optimizer { get; init; } = new(1e-4, 0.9, 0.999, 0.01);
    public double MaxGradNorm { get; init; } = 10.0;
    /// <summary>The generator wrapper's scheduler shift (x0 = x_t − σ·flow on its grid).</summary>
    public double TimestepShift { get; init; } = 5.0;
    public bool GradientCheckpointing { get; init; }
    public bool MixedPrecision { get; init; }

    public OdeInitSettings Validate()
    {
        Optimizer.Validate();
        if (!(MaxGradNorm > 0)) throw new ArgumentOutOfRangeException(nameof(MaxGradNorm), "max grad norm must be positive");
        if (!(TimestepShift > 0)) throw new ArgumentOutOfRangeException(nameof(TimestepShift), "timestep shift must be positive");
        return this;
    }
}
