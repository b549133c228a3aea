using SelfForcing.Model.Tests.Golden;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Training.Tests.Golden;

/// <summary>
/// Compares a module's parameter gradients with a fixture: <c>{prefix}grad.&lt;key&gt;</c> per listed parameter,
/// <c>{prefix}grad_norms</c> (L2 norm per parameter in <c>config.param_names</c> order, 0 without a gradient) and
/// <c>{prefix}grad_nonzero</c>.
/// </summary>
public static class GradientExpectations
{
    public static void AssertModuleGradients(GoldenCase golden, nn.Module module, string prefix = "expected.")
    {
        using var scope = NewDisposeScope();
        var parameters = module.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var names = golden.Config.GetProperty("param_names").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.Equal(names.Order(StringComparer.Ordinal), parameters.Keys.Order(StringComparer.Ordinal));
        Tensor GradOf(string key)
        {
            var p = parameters[key];
            return p.grad is { } g ? g.detach().clone() : zeros_like(p);
        }

        foreach (var name in golden.Names(prefix + "grad."))
        {
            var key = name[(prefix.Length + "grad.".Length)..];
            if (parameters.ContainsKey(key)) golden.AssertMatches(name, GradOf(key));
        }
        var norms = stack(names.Select(n => GradOf(n).norm(2.0f)).ToArray());
        golden.AssertMatches(prefix + "grad_norms", norms);
        var nonzero = stack(names.Select(n => GradOf(n).ne(0).any().to(ScalarType.Int64)).ToArray());
        golden.AssertMatches(prefix + "grad_nonzero", nonzero);
    }
}
