using SelfForcing.Model.Dit;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Model.Tests.Dit;

public class WanShapeTests
{
    [Theory]
    [InlineData("1.3B", 825, 1_418_996_800L)]
    [InlineData("14B", 1095, 14_288_491_584L)]
    public void Full_size_models_have_the_reference_state_dict(string preset, int keys, long parameters)
    {
        var config = preset == "1.3B" ? WanConfig.T2V_1_3B : WanConfig.T2V_14B;
        using var model = new CausalWanModel(config, new Device(DeviceType.META));
        var named = model.named_parameters().ToList();
        Assert.Equal(keys, named.Count);
        Assert.Equal(parameters, named.Sum(p => p.parameter.numel()));
        var shapes = named.ToDictionary(p => p.name, p => p.parameter.shape);
        Assert.Equal(new long[] { config.Dim, 16, 1, 2, 2 }, shapes["patch_embedding.weight"]);
        Assert.Equal(new long[] { 6L * config.Dim, config.Dim }, shapes["time_projection.1.weight"]);
        Assert.Equal(new long[] { 1, 6, config.Dim }, shapes["blocks.0.modulation"]);
        Assert.Equal(new long[] { config.FfnDim, config.Dim }, shapes["blocks.0.ffn.0.weight"]);
        Assert.Equal(new long[] { config.Dim }, shapes["blocks.0.cross_attn.norm_k.weight"]);
        Assert.Equal(new long[] { 1, 2, config.Dim }, shapes["head.modulation"]);
        Assert.Equal(new long[] { 64, config.Dim }, shapes["head.head.weight"]);
    }
}
