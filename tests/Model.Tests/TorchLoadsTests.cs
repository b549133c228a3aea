using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Model.Tests;

public class TorchLoadsTests
{
    [Fact]
    public void Torch_initialises_and_computes()
    {
        using var a = tensor(new float[] { 1, 2, 3, 4 }).reshape(2, 2);
        using var b = a.matmul(a);
        Assert.Equal(new float[] { 7, 10, 15, 22 }, b.data<float>().ToArray());
        using var q = randn([1, 2, 4, 8], generator: new Generator(1));
        using var o = nn.functional.scaled_dot_product_attention(q, q, q);
        Assert.Equal(q.shape, o.shape);
        using var bf = a.to(ScalarType.BFloat16).to(ScalarType.Float32);
        Assert.Equal(a.data<float>().ToArray(), bf.data<float>().ToArray());
    }
}
