using static TorchSharp.torch;

namespace SelfForcing.Training.Objectives;

/// <summary>
/// Timesteps for the score networks (reference <c>DMD</c>: <c>_get_timestep(uniform)</c>, shift, clamp): one integer u per
/// sample repeated over the frames, t = s·(u/1000)/(1 + (s−1)·(u/1000))·1000 in float32, clamped to [min, max].
/// </summary>
public static class ScoreTimesteps
{
    public const int NumTrainTimesteps = 1000;

    /// <param name="u">[B, 1] int64 draw of randint(min_score_timestep, 1000).</param>
    /// <returns>[B, frames] float32.</returns>
    public static Tensor FromDraw(Tensor u, long frames, double shift = 5.0, double minStep = 20, double maxStep = 980)
    {
        using var scope = NewDisposeScope();
        if (u.dim() != 2 || u.shape[1] != 1) throw new ArgumentException($"u must be [B, 1], got [{string.Join(", ", u.shape)}]");
        var t = u.expand(u.shape[0], frames).to(ScalarType.Float32);
        if (shift > 1)
        {
            var frac = t / NumTrainTimesteps;
            t = shift * frac / (1 + (shift - 1) * frac) * NumTrainTimesteps;
        }
        return t.clamp(minStep, maxStep).MoveToOuterDisposeScope();
    }

    /// <summary>Draws u (randint(min, 1000, [B, 1])) and converts it (see <see cref="FromDraw"/>).</summary>
    public static Tensor Draw(Randomness.ITrainingRandom random, long batch, long frames, double shift = 5.0, long minScoreTimestep = 0,
        double minStep = 20, double maxStep = 980)
    {
        using var u = random.RandInt(minScoreTimestep, NumTrainTimesteps, [batch, 1], "score timestep u");
        return FromDraw(u, frames, shift, minStep, maxStep);
    }
}
