using SelfForcing.Model.Text;
using static TorchSharp.torch;

namespace SelfForcing.Model.Tests.Text;

public class T5ReferenceInitTests
{
    [Fact]
    public void A_new_encoder_draws_each_tensor_at_the_scale_t5_init_weights_gives_it()
    {
        var c = TextTestModels.Tiny with { Vocab = 4096, Dim = 64, DimAttn = 64, DimFfn = 256, NumHeads = 4 };
        using var encoder = new T5Encoder(c, CPU, ScalarType.Float32);
        encoder.InitializeReference(11);
        var p = encoder.named_parameters().ToDictionary(x => x.name, x => (Tensor)x.parameter);
        double Std(string name) => p[name].std().item<float>();
        void Near(string name, double want) => Assert.InRange(Std(name), 0.85 * want, 1.15 * want);

        foreach (var name in p.Keys.Where(n => n.EndsWith("norm.weight") || n.EndsWith("norm1.weight") || n.EndsWith("norm2.weight")))
            Assert.True(p[name].eq(1).all().item<bool>(), name);
        Near("token_embedding.weight", 1.0);
        Near("blocks.0.attn.q.weight", Math.Pow(c.Dim * c.DimAttn, -0.5));
        Near("blocks.0.attn.k.weight", Math.Pow(c.Dim, -0.5));
        Near("blocks.0.attn.v.weight", Math.Pow(c.Dim, -0.5));
        Near("blocks.0.attn.o.weight", Math.Pow(c.NumHeads * c.DimAttn, -0.5));
        Near("blocks.0.ffn.gate.0.weight", Math.Pow(c.Dim, -0.5));
        Near("blocks.0.ffn.fc1.weight", Math.Pow(c.Dim, -0.5));
        Near("blocks.0.ffn.fc2.weight", Math.Pow(c.DimFfn, -0.5));

        using var again = new T5Encoder(c, CPU, ScalarType.Float32);
        again.InitializeReference(11);
        foreach (var (name, value) in again.named_parameters()) Assert.True(value.eq(p[name]).all().item<bool>(), name);
    }
}
