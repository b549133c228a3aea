namespace SelfForcing.Training.Ode;

/// <summary>
/// How ODE pairs are made. The reference (<c>scripts/generate_ode_pairs.py</c>) runs 48 Euler steps on a shift-8 grid with
/// CFG 6.0 and keeps the latents before steps 0, 12, 24, 36 and the result: t = 1000, 960, 888.9, 727.3 — the shift-8 warp
/// of [1000, 750, 500, 250]. Here the shift defaults to the student's (5), so the recorded latents sit exactly at the
/// student's warped 4-step schedule 1000, 937.5, 833.3, 625 that it samples with.
/// </summary>
public sealed record OdePairSettings
{
    public int Steps { get; init; } = 48;
    public double Shift { get; init; } = 5.0;
    /// <summary>Classifier-free guidance scale; used when unconditional embeddings are given.</summary>
    public double GuidanceScale { get; init; } = 6.0;
    /// <summary>How many trajectory entries are recorded before the clean result (the student's step count).</summary>
    public int RecordedSteps { get; init; } = 4;
    /// <summary>Prompts integrated together.</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>The schedule indices whose latents are recorded: 0, N/S, 2N/S, …</summary>
    public int[] RecordBefore => Enumerable.Range(0, RecordedSteps).Select(i => i * Steps / RecordedSteps).ToArray();

    public OdePairSettings Validate()
    {
        if (Steps < 1) throw new ArgumentOutOfRangeException(nameof(Steps), "at least one ODE step");
        if (RecordedSteps < 1 || Steps % RecordedSteps != 0)
            throw new ArgumentOutOfRangeException(nameof(RecordedSteps), $"the {Steps} ODE steps must split evenly into {RecordedSteps} recorded steps");
        if (!(Shift > 0)) throw new ArgumentOutOfRangeException(nameof(Shift), "shift must be positive");
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), "batch size must be positive");
        return this;
    }
}
