using SelfForcing.Model.Dit;
using static TorchSharp.torch;

namespace SelfForcing.Model.Tests.Dit;

public class ReferenceInitTests
{
    private static Dictionary<string, Tensor> Init(long seed)
    {
        var model = new WanModel(WanConfig.World);
        ReferenceInit.Apply(model, seed);
        return model.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter.detach().clone());
    }

    private static double Std(Tensor t) => t.std().item<float>();
    private static double MaxAbs(Tensor t) => t.abs().max().item<float>();

    [Fact]
    public void Every_parameter_starts_as_the_reference_init_weights_leaves_it()
    {
        var p = Init(seed: 3);
        var c = WanConfig.World;
        double xavier(long fanIn, long fanOut) => Math.Sqrt(6.0 / (fanIn + fanOut));

        // Norm gains at one: attention logits start at their full scale instead of ~1e-3.
        foreach (var (name, value) in p.Where(kv => kv.Key.Contains("norm_q") || kv.Key.Contains("norm_k") || kv.Key.EndsWith("norm3.weight")))
            Assert.True(value.eq(1).all().item<bool>(), name);
        Assert.True(p["blocks.0.norm3.bias"].eq(0).all().item<bool>());
        Assert.True(p["head.head.weight"].eq(0).all().item<bool>());
        Assert.True(p["head.head.bias"].eq(0).all().item<bool>());

        var q = p["blocks.1.self_attn.q.weight"];
        Assert.True(MaxAbs(q) <= xavier(c.Dim, c.Dim) + 1e-6);
        Assert.InRange(Std(q), 0.9 * xavier(c.Dim, c.Dim) / Math.Sqrt(3), 1.1 * xavier(c.Dim, c.Dim) / Math.Sqrt(3));
        Assert.True(p["blocks.1.self_attn.q.bias"].eq(0).all().item<bool>());
        var ffn = p["blocks.2.ffn.0.weight"];
        Assert.True(MaxAbs(ffn) <= xavier(c.Dim, c.FfnDim) + 1e-6);

        long patchFanIn = c.InDim * c.PatchSize[0] * c.PatchSize[1] * c.PatchSize[2];
        Assert.True(MaxAbs(p["patch_embedding.weight"]) <= xavier(patchFanIn, c.Dim) + 1e-6);
        Assert.True(MaxAbs(p["patch_embedding.bias"]) <= 1 / Math.Sqrt(patchFanIn) + 1e-6);
        Assert.True(Std(p["patch_embedding.bias"]) > 0);

        Assert.InRange(Std(p["text_embedding.0.weight"]), 0.018, 0.022);
        Assert.InRange(Std(p["time_embedding.2.weight"]), 0.018, 0.022);
        Assert.True(p["text_embedding.2.bias"].eq(0).all().item<bool>());
        Assert.InRange(Std(p["blocks.3.modulation"]), 0.8 / Math.Sqrt(c.Dim), 1.2 / Math.Sqrt(c.Dim));
        Assert.InRange(Std(p["head.modulation"]), 0.7 / Math.Sqrt(c.Dim), 1.3 / Math.Sqrt(c.Dim));
        Assert.InRange(Std(p["time_projection.1.weight"]), 0.9 * xavier(c.Dim, 6 * c.Dim) / Math.Sqrt(3), 1.1 * xavier(c.Dim, 6 * c.Dim) / Math.Sqrt(3));
    }

    [Fact]
    public void A_seed_means_the_same_start_and_another_seed_another()
    {
        var a = Init(seed: 5);
        var b = Init(seed: 5);
        var other = Init(seed: 6);
        foreach (var name in a.Keys) Assert.True(a[name].eq(b[name]).all().item<bool>(), name);
        Assert.False(a["blocks.0.self_attn.k.weight"].eq(other["blocks.0.self_attn.k.weight"]).all().item<bool>());
    }
}
