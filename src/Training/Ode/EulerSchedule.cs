using static TorchSharp.torch;

namespace SelfForcing.Training.Ode;

/// <summary>
/// The N-step sampling schedule of the reference's ODE-pair script (<c>FlowMatchScheduler(shift, sigma_min=0,
/// extra_one_step=True).set_timesteps(N)</c>): σ_k = shift·u_k/(1 + (shift−1)·u_k) with u = linspace(1, 0, N+1)[:N] in
/// float32, t_k = 1000·σ_k, and σ_N = 0 after the last step.
/// </summary>
public sealed class EulerSchedule
{
    public int Steps { get; }
    public double Shift { get; }
    /// <summary>t_0 … t_{N−1}.</summary>
    public IReadOnlyList<float> Timesteps { get; }
    /// <summary>σ_0 … σ_N (σ_N = 0).</summary>
    public IReadOnlyList<float> Sigmas { get; }

    public EulerSchedule(int steps, double shift)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), "at least one step");
        if (!(shift > 0)) throw new ArgumentOutOfRangeException(nameof(shift), "shift must be positive");
        Steps = steps;
        Shift = shift;
        using var scope = NewDisposeScope();
        var u = linspace(1.0, 0.0, steps + 1, ScalarType.Float32).narrow(0, 0, steps);
        var sigmas = shift * u / (1 + (shift - 1) * u);
        var s = sigmas.data<float>().ToArray();
        Sigmas = [.. s, 0f];
        Timesteps = (sigmas * 1000).data<float>().ToArray();
    }
}
