using System.Text.Json;
using SelfForcing.Model.Checkpoints;
using SelfForcing.Model.Dit;
using SelfForcing.Model.Sampling;
using SelfForcing.Model.Tests.Golden;
using SelfForcing.Training.Objectives;
using static TorchSharp.torch;

namespace SelfForcing.Training.Tests.Golden;

internal static class ScoreNetworks
{
    public static ScoreNetwork Load(GoldenCase golden, string role, string shiftKey)
    {
        var model = new WanModel(WanConfig.FromJson(golden.Config.GetProperty(role)));
        ModuleWeights.LoadStrict(model, golden.GetAll($"weights.{role}."), $"{golden.Name} ({role})");
        return new ScoreNetwork(model, golden.Config.GetProperty(shiftKey).GetDouble());
    }

    public static (double Min, double Max) StepRange(JsonElement config) =>
        (config.GetProperty("min_step").GetDouble(), config.GetProperty("max_step").GetDouble());
}

/// <summary>DMD generator loss on given latents: teacher with CFG, critic, DMD direction, and the gradient at the latents.</summary>
public sealed class DmdGeneratorLossParity : ITrainingParityCheck
{
    public string Kind => "dmd_generator_loss";

    public void Run(GoldenCase golden)
    {
        using var scope = NewDisposeScope();
        var config = golden.Config;
        var real = ScoreNetworks.Load(golden, "real_score", "real_score_scheduler_shift");
        var fake = ScoreNetworks.Load(golden, "fake_score", "fake_score_scheduler_shift");
        using var realModel = real.Model;
        using var fakeModel = fake.Model;
        var (min, max) = ScoreNetworks.StepRange(config);
        Assert.Equal(0.0, config.GetProperty("fake_guidance_scale").GetDouble()); // the port has no critic CFG (the reference config never sets one)
        var objective = new DmdGeneratorLoss(real, fake, new FlowMatchScheduler(config.GetProperty("dmd_scheduler_shift").GetDouble()))
        {
            RealGuidanceScale = config.GetProperty("real_guidance_scale").GetDouble(),
            TimestepShift = config.GetProperty("reference_args").GetProperty("timestep_shift").GetDouble(),
            MinStep = min, MaxStep = max,
        };
        var latents = golden.Get("input.latents").requires_grad_(true);
        var random = new ReplayTrainingRandom(golden);

        var r = objective.Compute(latents, golden.Get("input.prompt_embeds"), golden.Get("input.negative_prompt_embeds"), random);
        random.AssertAllDrawn();
        r.Loss.backward();

        golden.AssertMatches("expected.timestep", r.Timestep);
        golden.AssertMatches("expected.noisy_latents", r.NoisyLatents);
        golden.AssertMatches("expected.pred_fake_x0", r.Fake.X0);
        golden.AssertMatches("expected.pred_fake_flow", r.Fake.Flow);
        golden.AssertMatches("expected.pred_real_cond_x0", r.RealCondX0);
        golden.AssertMatches("expected.pred_real_uncond_x0", r.RealUncondX0);
        golden.AssertMatches("expected.pred_real_x0", r.RealX0);
        golden.AssertMatches("expected.normalizer", r.Normalizer);
        golden.AssertMatches("expected.dmd_grad", r.DmdGrad);
        golden.AssertMatches("expected.dmdtrain_gradient_norm", r.DmdGradientNorm.reshape(1));
        golden.AssertMatches("expected.loss", r.Loss.reshape(1));
        Assert.NotNull(latents.grad);
        golden.AssertMatches("expected.grad_latents", latents.grad!);
        // The score networks ran without gradient: the loss must not have reached their parameters.
        Assert.All(realModel.parameters().Concat(fakeModel.parameters()), p => Assert.Null(p.grad));
    }
}

/// <summary>The critic's flow loss on given latents, with the critic's parameter gradients.</summary>
public sealed class DmdCriticLossParity : ITrainingParityCheck
{
    public string Kind => "dmd_critic_loss";

    public void Run(GoldenCase golden)
    {
        using var scope = NewDisposeScope();
        var config = golden.Config;
        var fake = ScoreNetworks.Load(golden, "fake_score", "fake_score_scheduler_shift");
        using var fakeModel = fake.Model;
        var (min, max) = ScoreNetworks.StepRange(config);
        Assert.Equal("flow", config.GetProperty("denoising_loss_type").GetString());
        var objective = new DmdCriticLoss(fake, new FlowMatchScheduler(config.GetProperty("dmd_scheduler_shift").GetDouble()))
        {
            TimestepShift = config.GetProperty("reference_args").GetProperty("timestep_shift").GetDouble(),
            MinStep = min, MaxStep = max,
        };
        var random = new ReplayTrainingRandom(golden);

        var r = objective.Compute(golden.Get("input.latents"), golden.Get("input.prompt_embeds"), random);
        random.AssertAllDrawn();
        r.Loss.backward();

        golden.AssertMatches("expected.timestep", r.Timestep);
        golden.AssertMatches("expected.noisy_latents", r.NoisyLatents);
        golden.AssertMatches("expected.pred_fake_x0", r.Fake.X0);
        golden.AssertMatches("expected.pred_fake_flow", r.Fake.Flow);
        golden.AssertMatches("expected.flow_pred", r.FlowPred);
        golden.AssertMatches("expected.loss", r.Loss.reshape(1));
        GradientExpectations.AssertModuleGradients(golden, fakeModel);
    }
}
