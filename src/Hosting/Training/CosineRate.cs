namespace SelfForcing.Hosting.Training;

/// <summary>
/// The recipe's cosine learning rate: from the peak to zero over the run, where the run ends at <c>--steps</c> or at
/// <c>--max-seconds</c>, whichever comes first — so a time-bound run still anneals instead of stopping at a high rate.
/// </summary>
public static class CosineRate
{
    /// <param name="step">The step about to run, from 1.</param>
    /// <param name="maxSeconds">0 = no time limit.</param>
    public static double At(double peak, int step, int steps, double elapsedSeconds, double maxSeconds)
    {
        double progress = Math.Min(1, Math.Max((step - 1) / (double)steps, maxSeconds > 0 ? elapsedSeconds / maxSeconds : 0));
        return peak * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }
}
