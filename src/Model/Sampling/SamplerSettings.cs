namespace SelfForcing.Model.Sampling;

/// <summary>The few-step schedule of Self-Forcing inference (configs/self_forcing_dmd.yaml defaults).</summary>
public sealed record SamplerSettings
{
    public IReadOnlyList<int> DenoisingStepList { get; init; } = [1000, 750, 500, 250];
    public bool WarpDenoisingStep { get; init; } = true;
    public double TimestepShift { get; init; } = 5.0;
    /// <summary>Timestep the context pass tells the model; inference feeds the clean x0 unchanged.</summary>
    public float ContextNoise { get; init; }
    public int NumFramePerBlock { get; init; } = 3;

    public static SamplerSettings Default { get; } = new();

    public SamplerSettings Validate()
    {
        if (DenoisingStepList.Count == 0) throw new ArgumentException("denoising_step_list is empty");
        if (DenoisingStepList.Any(s => s < 0 || s > 1000)) throw new ArgumentException("denoising steps must be within [0, 1000]");
        if (NumFramePerBlock <= 0) throw new ArgumentException("num_frame_per_block must be positive");
        if (ContextNoise < 0 || ContextNoise > 1000) throw new ArgumentException("context_noise must be within [0, 1000]");
        return this;
    }
}
