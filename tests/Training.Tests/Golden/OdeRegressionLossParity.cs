using SelfForcing.Model.Checkpoints;
using SelfForcing.Model.Dit;
using SelfForcing.Model.Sampling;
using SelfForcing.Model.Tests.Golden;
using SelfForcing.Training.Objectives;
using static TorchSharp.torch;

namespace SelfForcing.Training.Tests.Golden;

/// <summary>ODE-regression loss of the causal generator (block-causal cache-free forward) and its parameter gradients.</summary>
public sealed class OdeRegressionLossParity : ITrainingParityCheck
{
    public string Kind => "ode_regression_loss";

    public void Run(GoldenCase golden)
    {
        using var scope = NewDisposeScope();
        var config = golden.Config;
        using var generator = new CausalWanModel(WanConfig.FromJson(config));
        ModuleWeights.LoadStrict(generator, golden.GetAll("weights."), golden.Name);
        var scheduler = new FlowMatchScheduler(config.GetProperty("generator_scheduler_shift").GetDouble());
        var steps = config.GetProperty("denoising_step_list").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        if (config.GetProperty("warp_denoising_step").GetBoolean())
            steps = scheduler.Warp(steps.Select(s => (int)s).ToArray()).Select(s => (long)s).ToArray();
        var random = new ReplayTrainingRandom(golden);
        var objective = new OdeRegressionLoss(generator, scheduler, steps);

        var r = objective.Compute(golden.Get("input.ode_latent"), golden.Get("input.prompt_embeds"), random);
        random.AssertAllDrawn();
        r.Loss.backward();

        golden.AssertMatches("expected.index", r.Index);
        golden.AssertMatches("expected.timestep", r.Timestep);
        golden.AssertMatches("expected.noisy_input", r.NoisyInput);
        golden.AssertMatches("expected.flow_pred", r.FlowPred);
        golden.AssertMatches("expected.pred_x0", r.PredX0);
        golden.AssertMatches("expected.loss", r.Loss.reshape(1));
        golden.AssertMatches("expected.unnormalized_loss", r.UnnormalizedLoss);
        GradientExpectations.AssertModuleGradients(golden, generator);
    }
}
