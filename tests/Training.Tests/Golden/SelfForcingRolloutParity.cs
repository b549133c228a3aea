using SelfForcing.Model.Checkpoints;
using SelfForcing.Model.Dit;
using SelfForcing.Model.Tests.Golden;
using SelfForcing.Training.Objectives;
using static TorchSharp.torch;

namespace SelfForcing.Training.Tests.Golden;

/// <summary>
/// The training rollout: every call's input and x0, the output, the exit-step interval, and the gradients of
/// sum(output · w) under both cache semantics — <c>expected.grad.*</c> with <see cref="CacheGradient.Reference"/>
/// (the port's default) and <c>expected.detached_cache.*</c> with <see cref="CacheGradient.Detached"/>.
/// </summary>
public sealed class SelfForcingRolloutParity : ITrainingParityCheck
{
    public string Kind => "sf_training_rollout";

    public void Run(GoldenCase golden)
    {
        RunOnce(golden, CacheGradient.Reference, "expected.", compareForward: true);
        RunOnce(golden, CacheGradient.Detached, "expected.detached_cache.", compareForward: false);
    }

    private static void RunOnce(GoldenCase golden, CacheGradient mode, string gradPrefix, bool compareForward)
    {
        using var scope = NewDisposeScope();
        var config = golden.Config;
        var wan = WanConfig.FromJson(config);
        using var model = new CausalWanModel(wan);
        ModuleWeights.LoadStrict(model, golden.GetAll("weights."), golden.Name);
        var generator = new GeneratorNetwork(model, config.GetProperty("reference_args").GetProperty("model_kwargs").GetProperty("timestep_shift").GetDouble());
        var args = config.GetProperty("reference_args");
        var stepList = args.GetProperty("denoising_step_list").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var steps = args.GetProperty("warp_denoising_step").GetBoolean() ? generator.Scheduler.Warp(stepList) : stepList.Select(s => (float)s).ToArray();
        var rollout = new SelfForcingRollout(generator, steps)
        {
            FramesPerBlock = wan.NumFramePerBlock,
            ContextNoise = (float)args.GetProperty("context_noise").GetDouble(),
            CacheGradient = mode,
            GradientFrames = 21,
        };
        var noise = golden.Get("input.noise").requires_grad_(true);
        var random = new ReplayTrainingRandom(golden);
        var calls = new List<RolloutCall>();
        var result = rollout.Run(noise, golden.Get("input.prompt_embeds"), random,
            c => calls.Add(c with { NoisyInput = c.NoisyInput.clone().DetachFromDisposeScope(), X0 = c.X0?.clone().DetachFromDisposeScope() }));
        random.AssertAllDrawn();
        var loss = (result.Output * golden.Get("input.loss_weight")).sum();
        loss.backward();

        if (compareForward)
        {
            var expectedCalls = golden.Sidecar.GetProperty("extra").GetProperty("calls").EnumerateArray().ToList();
            Assert.Equal(expectedCalls.Count, calls.Count);
            for (int i = 0; i < calls.Count; i++)
            {
                var e = expectedCalls[i];
                var c = calls[i];
                Assert.Equal(e.GetProperty("chunk").GetInt32(), c.Chunk);
                Assert.Equal(e.GetProperty("kind").GetString(), c.Kind.ToString().ToLowerInvariant());
                Assert.Equal(e.GetProperty("grad_enabled").GetBoolean(), c.GradEnabled);
                Assert.Equal(e.GetProperty("current_start").GetInt64(), c.CurrentStart);
                Assert.Equal((float)e.GetProperty("timestep").GetDouble(), c.Timestep);
                var n = e.GetProperty("call").GetInt32();
                golden.AssertMatches($"expected.call_{n:D3}.noisy_input", c.NoisyInput);
                if (golden.Has($"expected.call_{n:D3}.x0_pred")) golden.AssertMatches($"expected.call_{n:D3}.x0_pred", c.X0!);
            }
            golden.AssertMatches("expected.output_latents", result.Output);
            golden.AssertMatches("expected.loss", loss.reshape(1));
            golden.AssertMatches("expected.denoised_timestep_from", tensor(new[] { result.DenoisedTimestepFrom }));
            golden.AssertMatches("expected.denoised_timestep_to", tensor(new[] { result.DenoisedTimestepTo }));
        }
        golden.AssertMatches(gradPrefix + "grad.noise", noise.grad ?? zeros_like(noise));
        GradientExpectations.AssertModuleGradients(golden, model, gradPrefix);
        foreach (var c in calls) { c.NoisyInput.Dispose(); c.X0?.Dispose(); }
    }
}
