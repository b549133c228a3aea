using System.Globalization;
using System.Text.RegularExpressions;
using SelfForcing.Training.Config;
using SelfForcing.Training.Dmd;

namespace SelfForcing.Training.Tests.Config;

/// <summary>The reference's YAML keys: the shipped files parse to their values, unknown keys are reported, bad values named.</summary>
public class TrainingConfigTests
{
    /// <summary>
    /// A top-level scalar as the YAML text spells it, read with a regex (not with the parser under test): the last file
    /// in merge order that sets it wins, as in OmegaConf.merge(default_config, self_forcing_dmd).
    /// </summary>
    private static string Raw(string key)
    {
        string? value = null;
        foreach (var file in TrainingConfig.ReferenceFiles)
        {
            var m = Regex.Match(TrainingConfig.ReferenceText(file), $@"^{key}:[ \t]*(.*?)[ \t]*(#.*)?$", RegexOptions.Multiline);
            if (m.Success) value = m.Groups[1].Value;
        }
        return value ?? throw new KeyNotFoundException(key);
    }

    private static double Num(string key) => double.Parse(Raw(key), CultureInfo.InvariantCulture);
    private static bool Flag(string key) => bool.Parse(Raw(key));

    private static int[] List(string key)
    {
        var text = TrainingConfig.ReferenceText("self_forcing_dmd.yaml");
        var block = Regex.Match(text, $@"^{key}:\s*\n((?:- .*\n)+)", RegexOptions.Multiline);
        Assert.True(block.Success, key);
        return Regex.Matches(block.Groups[1].Value, @"- (\S+)").Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToArray();
    }

    [Fact]
    public void The_reference_files_parse_to_their_values()
    {
        var c = TrainingConfig.Parse(null, "");
        var s = c.Settings;
        Assert.Empty(c.Warnings);
        Assert.Equal(Num("lr"), s.Optimizers.Generator.LearningRate);
        Assert.Equal(Num("lr_critic"), s.Optimizers.Critic.LearningRate);
        Assert.Equal(Num("beta1"), s.Optimizers.Generator.Beta1);
        Assert.Equal(Num("beta2"), s.Optimizers.Generator.Beta2);
        Assert.Equal(Num("beta1_critic"), s.Optimizers.Critic.Beta1);
        Assert.Equal(Num("beta2_critic"), s.Optimizers.Critic.Beta2);
        Assert.Equal(Num("weight_decay"), s.Optimizers.Generator.WeightDecay); // from default_config.yaml, both optimisers
        Assert.Equal(Num("weight_decay"), s.Optimizers.Critic.WeightDecay);
        Assert.Equal(Num("guidance_scale"), s.GuidanceScale);
        Assert.Equal(Num("timestep_shift"), s.TimestepShift);
        Assert.Equal(Num("dfake_gen_update_ratio"), s.DfakeGenUpdateRatio);
        Assert.Equal(Num("ema_weight"), s.EmaWeight);
        Assert.Equal(Num("ema_start_step"), s.EmaStartStep);
        Assert.Equal(Num("num_frame_per_block"), s.NumFramePerBlock);
        Assert.Equal(Num("context_noise"), s.ContextNoise);
        Assert.Equal(Num("batch_size"), s.BatchSize);
        Assert.Equal(Num("log_iters"), s.LogIters);
        Assert.Equal(Num("seed"), s.Seed);
        Assert.Equal(Flag("warp_denoising_step"), s.WarpDenoisingStep);
        Assert.True(s.WarpDenoisingStep, "self_forcing_dmd.yaml's true overrides default_config.yaml's false");
        Assert.Equal(Flag("same_step_across_blocks"), s.SameStepAcrossBlocks);
        Assert.Equal(Flag("last_step_only"), s.LastStepOnly);
        Assert.Equal(List("denoising_step_list"), s.DenoisingStepList);
        Assert.Equal(Raw("negative_prompt").Trim('\''), s.NegativePrompt);
        Assert.Equal(Raw("data_path"), c.DataPath);
        Assert.False(c.DataPathFromUser);
        // Code defaults (getattr in trainer/distillation.py), absent from the files.
        Assert.Equal(10.0, s.MaxGradNormGenerator);
        Assert.Equal(10.0, s.MaxGradNormCritic);
    }

    [Fact]
    public void The_trainers_defaults_are_the_reference_files()
    {
        var parsed = TrainingConfig.Parse(null, "").Settings;
        var defaults = new DmdSettings();
        // One deliberate difference: in code the trainer computes in float32 unless asked; the reference config asks for bf16.
        Assert.False(defaults.MixedPrecision);
        Assert.True(parsed.MixedPrecision);
        Assert.Equal(defaults with { DenoisingStepList = parsed.DenoisingStepList, MixedPrecision = true }, parsed);
        Assert.Equal(defaults.DenoisingStepList, parsed.DenoisingStepList);
    }

    [Theory]
    [InlineData("mixed_precision: false\ngradient_checkpointing: false\n", false, false)]
    [InlineData("mixed_precision: true\n", true, true)]
    public void Mixed_precision_and_checkpointing_are_read_without_warnings(string yaml, bool mixed, bool checkpointing)
    {
        var c = TrainingConfig.Parse(yaml, "my.yaml");
        Assert.Empty(c.Warnings);
        Assert.Equal(mixed, c.Settings.MixedPrecision);
        Assert.Equal(checkpointing, c.Settings.GradientCheckpointing);
    }

    [Fact]
    public void A_users_file_overrides_key_by_key()
    {
        var c = TrainingConfig.Parse("lr: 1.0e-3\ndenoising_step_list: [1000, 500]\nwarp_denoising_step: no\nmodel_kwargs:\n  timestep_shift: 3.0\n" +
                                     "real_guidance_scale: 4.5\nmax_grad_norm_critic: 2\ndata_path: my.txt\n", "my.yaml");
        var s = c.Settings;
        Assert.Empty(c.Warnings);
        Assert.Equal(1e-3, s.Optimizers.Generator.LearningRate);
        Assert.Equal(Num("lr_critic"), s.Optimizers.Critic.LearningRate);
        Assert.Equal([1000, 500], s.DenoisingStepList);
        Assert.False(s.WarpDenoisingStep);
        Assert.Equal(3.0, s.GeneratorTimestepShift);
        Assert.Equal(4.5, s.GuidanceScale); // real_guidance_scale wins over guidance_scale, as in model/dmd.py
        Assert.Equal(2.0, s.MaxGradNormCritic);
        Assert.Equal("my.txt", c.DataPath);
        Assert.True(c.DataPathFromUser);
    }

    [Fact]
    public void Unknown_keys_and_ignored_changes_are_reported_by_name()
    {
        var c = TrainingConfig.Parse("lr: 1.0e-4\nlearning_rate: 3\nmodel_kwargs:\n  timestep_shfit: 5.0\nsharding_strategy: full\nwandb_host: WANDB_HOST\n", "my.yaml");
        Assert.Contains(c.Warnings, w => w.Contains("unknown config key 'learning_rate'") && w.StartsWith("my.yaml:2"));
        Assert.Contains(c.Warnings, w => w.Contains("unknown config key 'model_kwargs.timestep_shfit'"));
        Assert.Contains(c.Warnings, w => w.Contains("'sharding_strategy' has no effect here"));
        // Unchanged from the reference: nothing to say.
        Assert.DoesNotContain(c.Warnings, w => w.Contains("wandb_host"));
        Assert.Equal(3, c.Warnings.Count);
        Assert.Equal(1e-4, c.Settings.Optimizers.Generator.LearningRate);
    }

    [Theory]
    [InlineData("lr: fast\n", "'lr' must be a number, got 'fast'")]
    [InlineData("lr: '2e-6'\n", "'lr' must be a number")]
    [InlineData("dfake_gen_update_ratio: 2.5\n", "'dfake_gen_update_ratio' must be an integer")]
    [InlineData("same_step_across_blocks: maybe\n", "'same_step_across_blocks' must be true or false")]
    [InlineData("denoising_step_list: 1000\n", "'denoising_step_list' must be a list of integers")]
    [InlineData("denoising_step_list: [1000, x]\n", "'denoising_step_list' must be a list of integers")]
    [InlineData("model_kwargs: 5\n", "'model_kwargs' must be a mapping")]
    [InlineData("negative_prompt: [a, b]\n", "'negative_prompt' must be a string")]
    [InlineData("lr: -1\n", "learning rate must be non-negative")]
    [InlineData("ts_schedule: true\n", "'ts_schedule' = 'true' is not implemented")]
    [InlineData("distribution_loss: sid\n", "'distribution_loss' = 'sid' is not implemented")]
    [InlineData("lr: [1\n", "not valid YAML")]
    [InlineData("- lr\n", "must be a mapping of keys to values")]
    public void Bad_values_are_errors_that_name_the_key(string yaml, string expected)
    {
        var e = Assert.Throws<TrainingConfigException>(() => TrainingConfig.Parse(yaml, "my.yaml"));
        Assert.Contains(expected, e.Message);
        Assert.StartsWith("my.yaml", e.Message);
    }

    [Fact]
    public void Fixed_keys_accept_the_implemented_value_in_any_spelling()
    {
        var c = TrainingConfig.Parse("fake_guidance_scale: 0\nnum_train_timestep: 1000\nts_schedule: False\n", "my.yaml");
        Assert.Empty(c.Warnings);
    }
}
