using SelfForcing.Training.Objectives;

namespace SelfForcing.Training.Dmd;

/// <summary>
/// The trainer's knobs, named after the reference config keys (<c>configs/self_forcing_dmd.yaml</c> over
/// <c>default_config.yaml</c>, read by <see cref="Config.TrainingConfig"/>); defaults are the shipped values.
/// </summary>
public sealed record DmdSettings
{
    /// <summary>The reference's fixed Chinese negative prompt (<c>negative_prompt</c>), the teacher's unconditional branch.</summary>
    public const string ReferenceNegativePrompt =
        "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，低质量，JPEG压缩残留，丑陋的，残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，形态畸形的肢体，手指融合，静止不动的画面，杂乱的背景，三条腿，背景人很多，倒着走";

    /// <summary><c>dfake_gen_update_ratio</c>: the generator is updated on steps with step % ratio == 0.</summary>
    public int DfakeGenUpdateRatio { get; init; } = 5;
    public AdamWSettingsPair Optimizers { get; init; } = new();
    /// <summary><c>max_grad_norm_generator</c> (code default 10).</summary>
    public double MaxGradNormGenerator { get; init; } = 10.0;
    /// <summary><c>max_grad_norm_critic</c> (code default 10).</summary>
    public double MaxGradNormCritic { get; init; } = 10.0;
    /// <summary><c>ema_weight</c>; 0 disables the EMA.</summary>
    public double EmaWeight { get; init; } = 0.99;
    /// <summary><c>ema_start_step</c>: the EMA is created from the current weights once the step counter reaches it.</summary>
    public int EmaStartStep { get; init; } = 200;
    /// <summary><c>real_guidance_scale</c>, else <c>guidance_scale</c> (the teacher's CFG).</summary>
    public double GuidanceScale { get; init; } = 3.0;
    /// <summary><c>timestep_shift</c> applied to the score timesteps.</summary>
    public double TimestepShift { get; init; } = 5.0;
    /// <summary><c>model_kwargs.timestep_shift</c>: the generator wrapper's scheduler shift.</summary>
    public double GeneratorTimestepShift { get; init; } = 5.0;
    /// <summary><c>min_score_timestep</c>: lower bound of the integer score-timestep draw u.</summary>
    public long MinScoreTimestep { get; init; }
    public double MinStep { get; init; } = 20;
    public double MaxStep { get; init; } = 980;

    /// <summary><c>denoising_step_list</c>: the generator's few-step schedule.</summary>
    public IReadOnlyList<int> DenoisingStepList { get; init; } = [1000, 750, 500, 250];
    /// <summary><c>warp_denoising_step</c>: map the list onto the shifted grid (1000, 937.5, 833.3, 625).</summary>
    public bool WarpDenoisingStep { get; init; } = true;
    /// <summary><c>num_frame_per_block</c>: latent frames per chunk.</summary>
    public int NumFramePerBlock { get; init; } = 3;
    /// <summary><c>same_step_across_blocks</c>: one exit step for every chunk (else one per chunk).</summary>
    public bool SameStepAcrossBlocks { get; init; } = true;
    /// <summary><c>last_step_only</c>: always exit at the last step (no stochastic truncation).</summary>
    public bool LastStepOnly { get; init; }
    /// <summary><c>context_noise</c>: the timestep of the cache re-run.</summary>
    public int ContextNoise { get; init; }
    /// <summary>
    /// Not a reference setting (<c>train --score-window</c>): latent frames of the window of each rollout that the DMD
    /// loss and the critic see (0 = the whole rollout, the reference). A rollout longer than the teacher's clips is
    /// scored one chunk-aligned window at a time, drawn per phase, so the teacher judges only clips of the length it
    /// learnt while the student practises the chunks that come late in a stream.
    /// </summary>
    public int ScoreWindowFrames { get; init; }
    /// <summary><c>negative_prompt</c>.</summary>
    public string NegativePrompt { get; init; } = ReferenceNegativePrompt;
    /// <summary><c>batch_size</c>: prompts per device per phase.</summary>
    public int BatchSize { get; init; } = 1;
    /// <summary><c>log_iters</c>: checkpoint interval in steps.</summary>
    public int LogIters { get; init; } = 50;
    /// <summary><c>seed</c>. The reference turns 0 into a random draw; this port always uses it as given, so runs repeat.</summary>
    public long Seed { get; init; }
    /// <summary>
    /// <c>gradient_checkpointing</c>: recompute each transformer block in backward instead of keeping its activations,
    /// for the forwards that have a backward — the critic's denoising loss and the rollout's KV-cached exit-step forwards
    /// (recomputed against the cache's earlier keys without writing the cache again; the context pass has no backward).
    /// </summary>
    public bool GradientCheckpointing { get; init; } = true;
    /// <summary>
    /// <c>mixed_precision</c>: the generator rollout, the teacher and the critic compute in bf16 copies of their weights;
    /// the weights, gradients, clipping, AdamW and the EMA stay float32 (as the reference's FSDP mixed precision keeps fp32
    /// masters). The rollout's data (noise, x0, re-noising) and the losses stay float32. Off: everything is float32. Off
    /// here; the reference config sets it, and <see cref="Config.TrainingConfig"/> reads it from there.
    /// </summary>
    public bool MixedPrecision { get; init; }

    public DmdSettings Validate()
    {
        if (DfakeGenUpdateRatio < 1) throw new ArgumentOutOfRangeException(nameof(DfakeGenUpdateRatio), "dfake_gen_update_ratio must be at least 1");
        if (!(MaxGradNormGenerator > 0)) throw new ArgumentOutOfRangeException(nameof(MaxGradNormGenerator), "max_grad_norm_generator must be positive");
        if (!(MaxGradNormCritic > 0)) throw new ArgumentOutOfRangeException(nameof(MaxGradNormCritic), "max_grad_norm_critic must be positive");
        if (!(EmaWeight >= 0 && EmaWeight < 1)) throw new ArgumentOutOfRangeException(nameof(EmaWeight), "ema_weight must be in [0, 1)");
        if (EmaStartStep < 0) throw new ArgumentOutOfRangeException(nameof(EmaStartStep), "ema_start_step must be non-negative");
        if (!(MinStep <= MaxStep)) throw new ArgumentOutOfRangeException(nameof(MinStep), "min step must not exceed max step");
        if (MinScoreTimestep is < 0 or >= 1000) throw new ArgumentOutOfRangeException(nameof(MinScoreTimestep), "min_score_timestep must be in [0, 1000)");
        if (DenoisingStepList.Count == 0 || DenoisingStepList.Any(t => t is <= 0 or > 1000))
            throw new ArgumentOutOfRangeException(nameof(DenoisingStepList), "denoising_step_list must be non-empty with steps in (0, 1000]");
        if (NumFramePerBlock < 1) throw new ArgumentOutOfRangeException(nameof(NumFramePerBlock), "num_frame_per_block must be at least 1");
        if (ContextNoise is < 0 or > 1000) throw new ArgumentOutOfRangeException(nameof(ContextNoise), "context_noise must be in [0, 1000]");
        if (ScoreWindowFrames < 0 || ScoreWindowFrames % NumFramePerBlock != 0)
            throw new ArgumentOutOfRangeException(nameof(ScoreWindowFrames), $"the score window ({ScoreWindowFrames} frames) must be 0 or whole chunks of {NumFramePerBlock} frames");
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), "batch_size must be at least 1");
        if (LogIters < 1) throw new ArgumentOutOfRangeException(nameof(LogIters), "log_iters must be at least 1");
        Optimizers.Generator.Validate();
        Optimizers.Critic.Validate();
        return this;
    }

    /// <summary>The generator's training rollout as these settings describe it.</summary>
    public SelfForcingRollout CreateRollout(GeneratorNetwork generator) => new(generator,
        WarpDenoisingStep ? generator.Scheduler.Warp(DenoisingStepList) : DenoisingStepList.Select(t => (float)t).ToArray())
    {
        FramesPerBlock = NumFramePerBlock, ContextNoise = ContextNoise, SameStepAcrossBlocks = SameStepAcrossBlocks, LastStepOnly = LastStepOnly,
    };
}

/// <summary><c>lr</c>/<c>beta1</c>/<c>beta2</c> and <c>lr_critic</c>/<c>beta1_critic</c>/<c>beta2_critic</c>, both with <c>weight_decay</c>.</summary>
public sealed record AdamWSettingsPair
{
    public Optim.AdamWSettings Generator { get; init; } = new(2.0e-6, 0.0, 0.999, 0.01);
    public Optim.AdamWSettings Critic { get; init; } = new(4.0e-7, 0.0, 0.999, 0.01);
}
