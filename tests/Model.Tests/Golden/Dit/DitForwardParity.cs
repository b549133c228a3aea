using SelfForcing.Model.Checkpoints;
using SelfForcing.Model.Dit;
using static TorchSharp.torch;

namespace SelfForcing.Model.Tests.Golden.Dit;

/// <summary>Bidirectional WanModel forward, including the per-module traces.</summary>
public sealed class DitForwardParity : IParityCheck
{
    public string Kind => "dit_forward";

    public void Run(GoldenCase golden)
    {
        using var scope = NewDisposeScope();
        using var model = new WanModel(WanConfig.FromJson(golden.Config));
        ModuleWeights.LoadStrict(model, golden.GetAll("weights."), golden.Name);
        var traces = new Dictionary<string, Tensor>();
        model.Trace = (name, t) => traces[name] = t.detach().clone().DetachFromDisposeScope();
        long[]? lens = golden.Has("input.context_lens") ? golden.Get("input.context_lens").data<long>().ToArray() : null;
        using var noGrad = no_grad();
        var flow = model.Forward(golden.Get("input.x"), golden.Get("input.t"), golden.Get("input.context"), lens);
        golden.AssertMatches("expected.flow_pred", flow);
        foreach (var name in golden.Names("expected.trace."))
        {
            var key = name["expected.trace.".Length..];
            Assert.True(traces.ContainsKey(key), $"{golden.Name}: the model produced no trace '{key}'");
            golden.AssertMatches(name, traces[key]);
        }
    }
}
