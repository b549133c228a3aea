using SelfForcing.Model.Checkpoints;
using SelfForcing.Model.Dit;
using SelfForcing.Model.Tests.Golden;
using SelfForcing.Training.Optim;
using static TorchSharp.torch;

namespace SelfForcing.Training.Tests.Golden;

/// <summary>
/// Gradient clipping, AdamW and the EMA over several steps, per optimiser variant, each from the fixture's weights:
/// the recorded flat gradients are set as <c>.grad</c>, then clip → step → EMA update as the trainer does.
/// </summary>
public sealed class AdamWEmaStepParity : ITrainingParityCheck
{
    public string Kind => "adamw_ema_step";

    public void Run(GoldenCase golden)
    {
        var config = golden.Config;
        int steps = config.GetProperty("steps").GetInt32();
        var keys = config.GetProperty("param_keys").EnumerateArray().Select(e => e.GetString()!).ToList();
        foreach (var variant in config.GetProperty("variants").EnumerateObject())
        {
            using var scope = NewDisposeScope();
            var v = variant.Value;
            using var model = new CausalWanModel(WanConfig.FromJson(config));
            ModuleWeights.LoadStrict(model, golden.GetAll("weights."), golden.Name);
            var parameters = model.named_parameters().Select(p => (p.name, p.parameter)).ToList();
            // The flat vectors are in named_parameters() order: the port's module order must be the reference's.
            Assert.Equal(keys, parameters.Select(p => p.name).ToList());
            var betas = v.GetProperty("betas").EnumerateArray().Select(b => b.GetDouble()).ToArray();
            Assert.False(v.TryGetProperty("amsgrad", out var ams) && ams.GetBoolean(), "amsgrad is not ported (the reference never enables it)");
            using var optimizer = new AdamW(parameters, new AdamWSettings(
                v.GetProperty("lr").GetDouble(), betas[0], betas[1], v.GetProperty("weight_decay").GetDouble(), v.GetProperty("eps").GetDouble()));
            using var ema = new ExponentialMovingAverage(parameters, v.GetProperty("ema_decay").GetDouble());
            double maxNorm = v.GetProperty("max_grad_norm").GetDouble();

            for (int k = 1; k <= steps; k++)
            {
                optimizer.ZeroGrad();
                var flat = golden.Get($"input.grad_step_{k}");
                long offset = 0;
                foreach (var (_, p) in parameters)
                {
                    p.grad = flat.narrow(0, offset, p.numel()).view(p.shape).clone();
                    offset += p.numel();
                }
                Assert.Equal(flat.numel(), offset);
                double total = GradientClipping.ClipGradNorm(parameters.Select(p => (Tensor)p.parameter), maxNorm);
                golden.AssertMatches($"expected.{variant.Name}.step_{k}.grad_norm", tensor(new[] { (float)total }));
                optimizer.Step();
                ema.Update(parameters);
            }
            golden.AssertMatches($"expected.{variant.Name}.params", cat(parameters.Select(p => p.parameter.detach().flatten()).ToArray()));
            golden.AssertMatches($"expected.{variant.Name}.ema", cat(keys.Select(key => ema.Shadow[key].flatten()).ToArray()));
        }
    }
}
