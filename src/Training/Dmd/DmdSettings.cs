namespace SelfForcing.Training.Dmd;

/// <summary>
/// The trainer's knobs, named after the reference config keys (<c>configs/self_forcing_dmd.yaml</c> over
/// <c>default_config.yaml</c>); defaults are the shipped values.
/// </summary>
public sealed record DmdSettings
{
    /// <summary><c>dfake_gen_update_ratio</c>: the generator is updated on steps with step % ratio == 0.</summary>
    public int DfakeGenUpdateRatio { get; init; } = 5;
    public AdamWSettingsPair Optimizers { get; init; } = new();
    /// <summary>Max global gradient norm, generator and critic (code default 10).</summary>
    public double MaxGradNorm { get; init; } = 10.0;
    /// <summary><c>ema_weight</c>; 0 disables the EMA.</summary>
    public double EmaWeight { get; init; } = 0.99;
    /// <summary><c>ema_start_step</c>: the EMA is created from the current weights once the step counter reaches it.</summary>
    public int EmaStartStep { get; init; } = 200;
    /// <summary><c>guidance_scale</c> (the teacher's CFG).</summary>
    public double GuidanceScale { get; init; } = 3.0;
    /// <summary><c>timestep_shift</c> applied to the score timesteps.</summary>
    public double TimestepShift { get; init; } = 5.0;
    public double MinStep { get; init; } = 20;
    public double MaxStep { get; init; } = 980;

    public DmdSettings Validate()
    {
        if (DfakeGenUpdateRatio < 1) throw new ArgumentOutOfRangeException(nameof(DfakeGenUpdateRatio), "dfake_gen_update_ratio must be at least 1");
        if (!(MaxGradNorm > 0)) throw new ArgumentOutOfRangeException(nameof(MaxGradNorm), "max grad norm must be positive");
        if (!(EmaWeight >= 0 && EmaWeight < 1)) throw new ArgumentOutOfRangeException(nameof(EmaWeight), "ema_weight must be in [0, 1)");
        if (EmaStartStep < 0) throw new ArgumentOutOfRangeException(nameof(EmaStartStep), "ema_start_step must be non-negative");
        if (!(MinStep <= MaxStep)) throw new ArgumentOutOfRangeException(nameof(MinStep), "min step must not exceed max step");
        Optimizers.Generator.Validate();
        Optimizers.Critic.Validate();
        return this;
    }
}

/// <summary><c>lr</c>/<c>beta1</c>/<c>beta2</c> and <c>lr_critic</c>/<c>beta1_critic</c>/<c>beta2_critic</c>, both with <c>weight_decay</c>.</summary>
public sealed record AdamWSettingsPair
{
    public Optim.AdamWSettings Generator { get; init; } = new(2.0e-6, 0.0, 0.999, 0.01);
    public Optim.AdamWSettings Critic { get; init; } = new(4.0e-7, 0.0, 0.999, 0.01);
}
