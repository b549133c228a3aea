using SelfForcing.Model.Dit;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Training.Tests.Precision;

/// <summary>Activation checkpointing per block changes memory, never values: same outputs and gradients as without it.</summary>
public class GradientCheckpointingTests
{
    private static readonly WanConfig Config = WanConfig.Tiny with { NumLayers = 3 };

    /// <summary>Output, d loss/d input and d loss/d every parameter for one forward/backward.</summary>
    private static (Tensor Output, Tensor InputGrad, Dictionary<string, Tensor> Grads) Run(WanTransformer model, Func<Tensor, Tensor> forward,
        Tensor input, Tensor lossWeight)
    {
        foreach (var p in model.parameters()) p.grad = null;
        var x = input.detach().clone().requires_grad_(true);
        var output = forward(x);
        (output * lossWeight).sum().backward();
        var grads = model.named_parameters().Where(p => p.parameter.grad is not null)
            .ToDictionary(p => p.name, p => p.parameter.grad!.clone(), StringComparer.Ordinal);
        return (output.detach(), x.grad!.clone(), grads);
    }

    private static void AssertClose(Tensor expected, Tensor actual, string what)
    {
        double scale = Math.Max(expected.abs().max().item<float>(), 1e-12);
        double diff = (expected - actual).abs().max().item<float>();
        Assert.True(diff <= 1e-5 * scale, $"{what}: max |diff| {diff:G3} vs max |value| {scale:G3}");
    }

    private static void AssertSameRun(WanTransformer model, Func<Tensor, Tensor> forward, Tensor input, Tensor weight)
    {
        model.GradientCheckpointing = false;
        var plain = Run(model, forward, input, weight);
        model.GradientCheckpointing = true;
        var checkpointed = Run(model, forward, input, weight);
        model.GradientCheckpointing = false;

        AssertClose(plain.Output, checkpointed.Output, "output");
        AssertClose(plain.InputGrad, checkpointed.InputGrad, "input gradient");
        Assert.Equal(plain.Grads.Keys.Order(StringComparer.Ordinal), checkpointed.Grads.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(model.parameters().Count(), plain.Grads.Count); // every parameter, the blocks' included, got a gradient
        foreach (var (name, g) in plain.Grads) AssertClose(g, checkpointed.Grads[name], name);
    }

    [Fact]
    public void Bidirectional_forward_and_gradients_equal_with_and_without_checkpointing()
    {
        using var scope = NewDisposeScope();
        using var model = new WanModel(Config);
        model.InitializeRandom(11, std: 0.1);
        var gen = new Generator(12);
        var input = randn([2, Config.InDim, 3, 4, 4], generator: gen);
        var t = tensor(new[] { 900f, 250f });
        var context = randn([2, Config.TextLen, Config.TextDim], generator: gen);
        var weight = randn([2, Config.OutDim, 3, 4, 4], generator: gen);
        AssertSameRun(model, x => model.Forward(x, t, context), input, weight);
    }

    [Fact]
    public void Block_causal_forward_and_gradients_equal_with_and_without_checkpointing()
    {
        using var scope = NewDisposeScope();
        using var model = new CausalWanModel(Config);
        model.InitializeRandom(13, std: 0.1);
        var gen = new Generator(14);
        var input = randn([1, Config.InDim, 6, 4, 4], generator: gen);
        var t = tensor(new[,] { { 1000f, 1000f, 1000f, 625f, 625f, 625f } });
        var context = randn([1, Config.TextLen, Config.TextDim], generator: gen);
        var weight = randn([1, Config.OutDim, 6, 4, 4], generator: gen);
        AssertSameRun(model, x => model.ForwardBlockCausal(x, t, context), input, weight);
    }

    [Fact]
    public void Frozen_model_passes_the_input_gradient_through_checkpointed_blocks()
    {
        // The DMD teacher's case: no parameter wants a gradient, the input does.
        using var scope = NewDisposeScope();
        using var model = new WanModel(Config);
        model.InitializeRandom(15, std: 0.1);
        foreach (var p in model.parameters()) p.requires_grad_(false);
        var gen = new Generator(16);
        var input = randn([1, Config.InDim, 3, 4, 4], generator: gen);
        var t = tensor(new[] { 500f });
        var context = randn([1, Config.TextLen, Config.TextDim], generator: gen);
        var weight = randn([1, Config.OutDim, 3, 4, 4], generator: gen);
        model.GradientCheckpointing = false;
        var plain = Run(model, x => model.Forward(x, t, context), input, weight);
        model.GradientCheckpointing = true;
        var checkpointed = Run(model, x => model.Forward(x, t, context), input, weight);
        Assert.Empty(checkpointed.Grads);
        AssertClose(plain.InputGrad, checkpointed.InputGrad, "input gradient");
    }
}
