using SelfForcing.Model.Checkpoints;
using SelfForcing.Model.Dit;
using static TorchSharp.torch;

namespace SelfForcing.Model.Tests.Checkpoints;

public class StateDictTests
{
    [Fact]
    public void Prefix_selection_and_strict_loading_report_every_problem()
    {
        using var model = new CausalWanModel(WanConfig.Tiny);
        var weights = model.named_parameters().ToDictionary(p => "generator_ema.model." + p.name, p => (Tensor)p.parameter.detach().clone());
        using var sd = StateDict.FromTensors("mem", weights);
        using var ema = sd.WithPrefix("generator_ema.").StripOptionalPrefix("model.");
        ema.LoadInto(model);

        var broken = new Dictionary<string, Tensor>(ema.Keys.ToDictionary(k => k, k => ema.Load(k)));
        broken.Remove("head.head.bias");
        broken["blocks.0.extra"] = zeros(1);
        broken["patch_embedding.bias"] = zeros(3);
        using var bad = StateDict.FromTensors("broken", broken);
        var ex = Assert.Throws<CheckpointFormatException>(() => bad.LoadInto(model, "tiny generator"));
        Assert.Contains("missing 1 key(s): head.head.bias", ex.Message);
        Assert.Contains("unexpected 1 key(s): blocks.0.extra", ex.Message);
        Assert.Contains("patch_embedding.bias: checkpoint [3]", ex.Message);

        var none = Assert.Throws<CheckpointFormatException>(() => sd.WithPrefix("generator."));
        Assert.Contains("generator_ema", none.Message);
    }

    [Fact]
    public void Dtype_conversion_on_load()
    {
        using var sd = StateDict.FromTensors("mem", new Dictionary<string, Tensor> { ["w"] = ones(2, 2, dtype: ScalarType.BFloat16) });
        using var t = sd.Load("w", ScalarType.Float32);
        Assert.Equal(ScalarType.Float32, t.dtype);
        Assert.Equal(4f, t.sum().item<float>());
    }
}
