using SelfForcing.Model.Sampling;
using static TorchSharp.torch;

namespace SelfForcing.Model.Tests.Golden.Sampling;

public sealed class SchedulerParity : IParityCheck
{
    public string Kind => "scheduler";

    public void Run(GoldenCase golden)
    {
        using var scope = NewDisposeScope();
        var cfg = golden.Config;
        var scheduler = new FlowMatchScheduler(
            cfg.GetProperty("shift").GetDouble(),
            cfg.GetProperty("num_train_timesteps").GetInt32(),
            cfg.TryGetProperty("sigma_max", out var smax) ? smax.GetDouble() : 1.0,
            cfg.GetProperty("sigma_min").GetDouble(),
            cfg.GetProperty("extra_one_step").GetBoolean());
        golden.AssertMatches("expected.sigmas", tensor(scheduler.Sigmas.ToArray()));
        golden.AssertMatches("expected.timesteps", tensor(scheduler.Timesteps.ToArray()));
        golden.AssertMatches("expected.linear_timesteps_weights", tensor(scheduler.LinearTimestepsWeights.ToArray()));

        var warps = cfg.GetProperty("warp_lists").EnumerateArray().ToList();
        for (int i = 0; i < warps.Count; i++)
            golden.AssertMatches($"expected.warped_{i}", tensor(scheduler.Warp(warps[i].EnumerateArray().Select(x => x.GetInt32()).ToArray())));

        var t = golden.Get("input.t");
        var ts = t.data<float>().ToArray();
        golden.AssertMatches("expected.timestep_id", tensor(ts.Select(v => (long)scheduler.TimestepId(v)).ToArray()));
        golden.AssertMatches("expected.training_weight", tensor(ts.Select(scheduler.TrainingWeight).ToArray()));
        golden.AssertMatches("expected.add_noise", scheduler.AddNoise(golden.Get("input.x0"), golden.Get("input.noise"), t));
        golden.AssertMatches("expected.step", scheduler.Step(golden.Get("input.model_output"), t, golden.Get("input.sample")));
        if (golden.Has("expected.step_warped_only"))
        {
            long n = golden.Get("expected.step_warped_only").shape[0];
            golden.AssertMatches("expected.step_warped_only",
                scheduler.Step(golden.Get("input.model_output").narrow(0, 0, n), t.narrow(0, 0, n), golden.Get("input.sample").narrow(0, 0, n)));
        }
        golden.AssertMatches("expected.x0_from_flow", scheduler.FlowToX0(golden.Get("input.flow"), golden.Get("input.xt"), t));
        golden.AssertMatches("expected.flow_from_x0", scheduler.X0ToFlow(golden.Get("input.x0"), golden.Get("input.xt"), t));
    }
}
