namespace SelfForcing.Training.Config;

/// <summary>The YAML type a config key must have.</summary>
public enum ConfigValueKind { Int, Float, Bool, String, IntList, Map, Any }

/// <summary>What this trainer does with a key: uses it, requires the one value it implements, or ignores it.</summary>
public enum ConfigKeyUse { Used, Fixed, Ignored }

/// <param name="Fixed">For <see cref="ConfigKeyUse.Fixed"/>: the only value this trainer implements (YAML text).</param>
/// <param name="Why">For ignored keys: what stands in for them here.</param>
public sealed record ConfigKey(string Name, ConfigValueKind Kind, ConfigKeyUse Use, string? Fixed = null, string? Why = null);

/// <summary>
/// Every key the reference's DMD trainer reads (<c>configs/*.yaml</c> and the code's <c>getattr</c> defaults, commit
/// 33593df), so that a config written for the reference is understood key by key and anything else is reported.
/// </summary>
public static class ReferenceConfigKeys
{
    private const string Fsdp = "this trainer does not shard (data parallel only, see README)";
    private const string Wandb = "no wandb: metrics.jsonl and losses.svg instead";
    private const string Eval = "evaluation keys of the reference's inference script";

    public static readonly IReadOnlyDictionary<string, ConfigKey> All = new ConfigKey[]
    {
        new("lr", ConfigValueKind.Float, ConfigKeyUse.Used),
        new("lr_critic", ConfigValueKind.Float, ConfigKeyUse.Used),
        new("beta1", ConfigValueKind.Float, ConfigKeyUse.Used),
        new("beta2", ConfigValueKind.Float, ConfigKeyUse.Used),
        new("beta1_critic", ConfigValueKind.Float, ConfigKeyUse.Used),
        new("beta2_critic", ConfigValueKind.Float, ConfigKeyUse.Used),
        new("weight_decay", ConfigValueKind.Float, ConfigKeyUse.Used),
        new("max_grad_norm_generator", ConfigValueKind.Float, ConfigKeyUse.Used),
        new("max_grad_norm_critic", ConfigValueKind.Float, ConfigKeyUse.Used),
        new("guidance_scale", ConfigValueKind.Float, ConfigKeyUse.Used),
        new("real_guidance_scale", ConfigValueKind.Float, ConfigKeyUse.Used),
        new("fake_guidance_scale", ConfigValueKind.Float, ConfigKeyUse.Fixed, "0.0"),
        new("timestep_shift", ConfigValueKind.Float, ConfigKeyUse.Used),
        new("model_kwargs", ConfigValueKind.Map, ConfigKeyUse.Used),
        new("model_kwargs.timestep_shift", ConfigValueKind.Float, ConfigKeyUse.Used),
        new("min_score_timestep", ConfigValueKind.Int, ConfigKeyUse.Used),
        new("dfake_gen_update_ratio", ConfigValueKind.Int, ConfigKeyUse.Used),
        new("ema_weight", ConfigValueKind.Float, ConfigKeyUse.Used),
        new("ema_start_step", ConfigValueKind.Int, ConfigKeyUse.Used),
        new("denoising_step_list", ConfigValueKind.IntList, ConfigKeyUse.Used),
        new("warp_denoising_step", ConfigValueKind.Bool, ConfigKeyUse.Used),
        new("num_frame_per_block", ConfigValueKind.Int, ConfigKeyUse.Used),
        new("same_step_across_blocks", ConfigValueKind.Bool, ConfigKeyUse.Used),
        new("last_step_only", ConfigValueKind.Bool, ConfigKeyUse.Used),
        new("context_noise", ConfigValueKind.Int, ConfigKeyUse.Used),
        new("negative_prompt", ConfigValueKind.String, ConfigKeyUse.Used),
        new("batch_size", ConfigValueKind.Int, ConfigKeyUse.Used),
        new("log_iters", ConfigValueKind.Int, ConfigKeyUse.Used),
        new("seed", ConfigValueKind.Int, ConfigKeyUse.Used),
        new("data_path", ConfigValueKind.String, ConfigKeyUse.Used),

        new("trainer", ConfigValueKind.String, ConfigKeyUse.Fixed, "score_distillation"),
        new("distribution_loss", ConfigValueKind.String, ConfigKeyUse.Fixed, "dmd"),
        new("denoising_loss_type", ConfigValueKind.String, ConfigKeyUse.Fixed, "flow"),
        new("num_train_timestep", ConfigValueKind.Int, ConfigKeyUse.Fixed, "1000"),
        new("ts_schedule", ConfigValueKind.Bool, ConfigKeyUse.Fixed, "false"),
        new("ts_schedule_max", ConfigValueKind.Bool, ConfigKeyUse.Fixed, "false"),
        new("independent_first_frame", ConfigValueKind.Bool, ConfigKeyUse.Fixed, "false"),
        new("i2v", ConfigValueKind.Bool, ConfigKeyUse.Fixed, "false"),
        new("causal", ConfigValueKind.Bool, ConfigKeyUse.Fixed, "true"),
        new("load_raw_video", ConfigValueKind.Bool, ConfigKeyUse.Fixed, "false"),

        new("generator_ckpt", ConfigValueKind.Any, ConfigKeyUse.Ignored, Why: "the tiny trainer starts from seeded random weights"),
        new("real_name", ConfigValueKind.String, ConfigKeyUse.Ignored, Why: "the tiny trainer's teacher is a seeded random model"),
        new("fake_name", ConfigValueKind.String, ConfigKeyUse.Ignored, Why: "the tiny trainer's critic is a seeded random model"),
        new("generator_fsdp_wrap_strategy", ConfigValueKind.String, ConfigKeyUse.Ignored, Why: Fsdp),
        new("real_score_fsdp_wrap_strategy", ConfigValueKind.String, ConfigKeyUse.Ignored, Why: Fsdp),
        new("fake_score_fsdp_wrap_strategy", ConfigValueKind.String, ConfigKeyUse.Ignored, Why: Fsdp),
        new("text_encoder_fsdp_wrap_strategy", ConfigValueKind.String, ConfigKeyUse.Ignored, Why: Fsdp),
        new("sharding_strategy", ConfigValueKind.String, ConfigKeyUse.Ignored, Why: Fsdp),
        new("text_encoder_cpu_offload", ConfigValueKind.Bool, ConfigKeyUse.Ignored, Why: Fsdp),
        new("total_batch_size", ConfigValueKind.Int, ConfigKeyUse.Ignored, Why: "informational in the reference too (batch_size x devices)"),
        new("mixed_precision", ConfigValueKind.Bool, ConfigKeyUse.Used),
        new("gradient_checkpointing", ConfigValueKind.Bool, ConfigKeyUse.Used),
        new("image_or_video_shape", ConfigValueKind.IntList, ConfigKeyUse.Ignored, Why: "the tiny model's latent shape is fixed"),
        new("num_training_frames", ConfigValueKind.Int, ConfigKeyUse.Ignored, Why: "the tiny model's latent shape is fixed"),
        new("gc_interval", ConfigValueKind.Int, ConfigKeyUse.Ignored, Why: ".NET manages memory itself"),
        new("discriminator_lr_multiplier", ConfigValueKind.Float, ConfigKeyUse.Ignored, Why: "GAN training only"),
        new("sid_alpha", ConfigValueKind.Float, ConfigKeyUse.Ignored, Why: "SiD training only"),
        new("wandb_host", ConfigValueKind.String, ConfigKeyUse.Ignored, Why: Wandb),
        new("wandb_key", ConfigValueKind.String, ConfigKeyUse.Ignored, Why: Wandb),
        new("wandb_entity", ConfigValueKind.String, ConfigKeyUse.Ignored, Why: Wandb),
        new("wandb_project", ConfigValueKind.String, ConfigKeyUse.Ignored, Why: Wandb),
        new("wandb_save_dir", ConfigValueKind.String, ConfigKeyUse.Ignored, Why: Wandb),
        new("disable_wandb", ConfigValueKind.Bool, ConfigKeyUse.Ignored, Why: Wandb),
        new("no_visualize", ConfigValueKind.Bool, ConfigKeyUse.Ignored, Why: Wandb),
        new("no_save", ConfigValueKind.Bool, ConfigKeyUse.Ignored, Why: "checkpoints are always saved (--save-every)"),
        new("logdir", ConfigValueKind.String, ConfigKeyUse.Ignored, Why: "the output folder is --out"),
        new("config_name", ConfigValueKind.String, ConfigKeyUse.Ignored, Why: "set by the reference's train.py"),
        new("ckpt_step", ConfigValueKind.Int, ConfigKeyUse.Ignored, Why: Eval),
        new("prompt_name", ConfigValueKind.String, ConfigKeyUse.Ignored, Why: Eval),
        new("prompt_path", ConfigValueKind.String, ConfigKeyUse.Ignored, Why: Eval),
        new("eval_first_n", ConfigValueKind.Int, ConfigKeyUse.Ignored, Why: Eval),
        new("num_samples", ConfigValueKind.Int, ConfigKeyUse.Ignored, Why: Eval),
        new("height", ConfigValueKind.Int, ConfigKeyUse.Ignored, Why: Eval),
        new("width", ConfigValueKind.Int, ConfigKeyUse.Ignored, Why: Eval),
        new("num_frames", ConfigValueKind.Int, ConfigKeyUse.Ignored, Why: Eval),
    }.ToDictionary(k => k.Name, StringComparer.Ordinal);
}
