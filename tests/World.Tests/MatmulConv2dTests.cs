using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SelfForcing.World.Tests;

/// <summary>The world VAE's convolution by im2col and one matrix product: libtorch's convolution, by another path.</summary>
public sealed class MatmulConv2dTests
{
    [Theory]
    [InlineData(64, 64, 3, 1, 1, 8, 8)]
    [InlineData(64, 32, 4, 2, 1, 16, 16)]
    [InlineData(16, 64, 3, 1, 1, 8, 8)]
    [InlineData(48, 4, 3, 1, 1, 32, 32)]
    [InlineData(64, 32, 1, 1, 0, 8, 8)]
    [InlineData(5, 7, 3, 2, 0, 9, 11)]
    public void Computes_the_convolution_and_its_gradients(int inChannels, int outChannels, int kernel, int stride, int padding, int h, int w)
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        using var conv = new MatmulConv2d(inChannels, outChannels, kernel, stride, padding);
        conv.to(float64); // float64: libtorch's own convolution then runs its exact native kernels, the reference here
        var x = randn([3, inChannels, h, w], dtype: float64, generator: new Generator(5)).requires_grad_();
        var y = conv.call(x);
        var parameters = conv.parameters().ToArray();
        var (weight, bias) = (parameters[0], parameters[1]);
        var reference = functional.conv2d(x, weight, bias, strides: [stride, stride], padding: [padding, padding]);
        Assert.Equal(reference.shape, y.shape);
        Assert.True(y.allclose(reference, rtol: 1e-10, atol: 1e-10), $"forward differs by {y.sub(reference).abs().max().item<double>():E2}");

        var upstream = randn(y.shape, dtype: float64, generator: new Generator(6));
        var mine = autograd.grad([y], [x, weight, bias], [upstream]);
        var theirs = autograd.grad([reference], [x, weight, bias], [upstream]);
        string[] names = ["input", "weight", "bias"];
        for (int i = 0; i < 3; i++)
            Assert.True(mine[i].allclose(theirs[i], rtol: 1e-10, atol: 1e-10), $"{names[i]} gradient differs by {mine[i].sub(theirs[i]).abs().max().item<double>():E2}");
    }

    [Fact]
    public void Starts_from_the_weights_conv2d_draws_under_the_same_seed_with_its_state_dict_keys()
    {
        manual_seed(11);
        using var conv = Conv2d(16, 64, 3, padding: 1);
        manual_seed(11);
        using var mine = new MatmulConv2d(16, 64, 3, padding: 1);
        var theirs = conv.state_dict();
        var ours = mine.state_dict();
        Assert.Equal(theirs.Keys.Order(), ours.Keys.Order());
        foreach (var (name, t) in theirs) Assert.True(t.eq(ours[name]).all().item<bool>(), name);
    }
}
