using SelfForcing.Model.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Model.Tests.Text;

public class T5EncoderTests
{
    [Fact]
    public void Xxl_preset_has_the_reference_state_dict_on_the_meta_device()
    {
        using var encoder = new T5Encoder(T5EncoderConfig.UmT5Xxl, new Device(DeviceType.META), ScalarType.BFloat16);
        var ps = encoder.named_parameters().ToList();
        var c = T5EncoderConfig.UmT5Xxl;
        // Key set and shapes from the reference module structure (spec §9), built from the config, not copied.
        var expected = new Dictionary<string, long[]> { ["token_embedding.weight"] = new long[] { c.Vocab, c.Dim }, ["norm.weight"] = new long[] { c.Dim } };
        for (int i = 0; i < c.NumLayers; i++)
        {
            expected[$"blocks.{i}.norm1.weight"] = new long[] { c.Dim };
            foreach (var p in new[] { "q", "k", "v" }) expected[$"blocks.{i}.attn.{p}.weight"] = new long[] { c.DimAttn, c.Dim };
            expected[$"blocks.{i}.attn.o.weight"] = new long[] { c.Dim, c.DimAttn };
            expected[$"blocks.{i}.norm2.weight"] = new long[] { c.Dim };
            expected[$"blocks.{i}.ffn.gate.0.weight"] = new long[] { c.DimFfn, c.Dim };
            expected[$"blocks.{i}.ffn.fc1.weight"] = new long[] { c.DimFfn, c.Dim };
            expected[$"blocks.{i}.ffn.fc2.weight"] = new long[] { c.Dim, c.DimFfn };
            expected[$"blocks.{i}.pos_embedding.embedding.weight"] = new long[] { c.NumBuckets, c.NumHeads };
        }
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), ps.Select(p => p.name).Order(StringComparer.Ordinal));
        foreach (var (name, p) in ps) Assert.Equal(expected[name], p.shape);
        Assert.All(ps, p => Assert.Equal(ScalarType.BFloat16, p.parameter.dtype));
        // Reference registration order inside a block.
        Assert.Equal(new[] { "norm1.weight", "attn.q.weight", "attn.k.weight", "attn.v.weight", "attn.o.weight", "norm2.weight",
                "ffn.gate.0.weight", "ffn.fc1.weight", "ffn.fc2.weight", "pos_embedding.embedding.weight" },
            ps.Where(p => p.name.StartsWith("blocks.0.", StringComparison.Ordinal)).Select(p => p.name["blocks.0.".Length..]));
        Assert.Equal(5_680_910_336L, ps.Sum(p => p.parameter.numel()));
    }

    [Fact]
    public void Strict_loader_lists_missing_unexpected_and_misshaped_keys()
    {
        var weights = TextTestModels.RandomWeights(TextTestModels.Tiny);
        using var encoder = new T5Encoder(TextTestModels.Tiny, CPU, ScalarType.Float32);
        var broken = weights.Where(w => w.Key != "norm.weight")
            .Select(w => w.Key == "blocks.0.attn.q.weight" ? new KeyValuePair<string, Tensor>(w.Key, zeros(3, 3)) : w)
            .Append(new KeyValuePair<string, Tensor>("blocks.0.attn.q.bias", zeros(32)))
            .ToList();
        var ex = Assert.Throws<InvalidDataException>(() => encoder.LoadWeights(broken, disposeSource: false));
        Assert.Contains("missing key 'norm.weight'", ex.Message);
        Assert.Contains("unexpected key 'blocks.0.attn.q.bias'", ex.Message);
        Assert.Contains("'blocks.0.attn.q.weight': shape [3, 3]", ex.Message);
    }

    [Fact]
    public void Loading_copies_into_parameters_and_disposes_each_source_tensor()
    {
        var weights = TextTestModels.RandomWeights(TextTestModels.Tiny);
        var expected = weights.ToDictionary(w => w.Key, w => w.Value.clone());
        using var encoder = new T5Encoder(TextTestModels.Tiny, CPU, ScalarType.BFloat16);
        encoder.LoadWeights(weights);
        Assert.All(weights, w => Assert.True(w.Value.IsInvalid, $"{w.Key} was not disposed after the copy"));
        foreach (var (name, p) in encoder.named_parameters())
        {
            Assert.Equal(ScalarType.BFloat16, p.dtype);
            Assert.True(p.to(ScalarType.Float32).allclose(expected[name].to(ScalarType.BFloat16).to(ScalarType.Float32)), name);
        }
    }

    [Fact]
    public void Padded_positions_do_not_change_real_outputs()
    {
        var weights = TextTestModels.RandomWeights(TextTestModels.Tiny);
        using var encoder = new T5Encoder(TextTestModels.Tiny, CPU, ScalarType.Float32);
        encoder.LoadWeights(weights);
        using var scope = NewDisposeScope();
        var gen = new Generator(3);
        var ids = randint(3, 300, new long[] { 2, 20 }, generator: gen);
        var mask = ones(2, 20, dtype: ScalarType.Int64);
        mask[0, 9..] = zeros(11, dtype: ScalarType.Int64);
        var full = TextEncoder.ZeroPastLengths(encoder.forward(ids, mask), new long[] { 9, 20 });
        var trimmed = TextEncoder.EncodeTokens(encoder, ids, mask);
        TensorAssert.Close(full, trimmed, "trimmed vs full-length forward");
        Assert.Equal(0f, trimmed[0, 9..].abs().max().item<float>());
        Assert.True(trimmed[0, 8].abs().max().item<float>() > 0f);
    }

    [Fact]
    public void Config_rejects_inconsistent_sizes()
    {
        Assert.Throws<ArgumentException>(() => (TextTestModels.Tiny with { NumHeads = 5 }).Validate());
        Assert.Throws<NotSupportedException>(() => (TextTestModels.Tiny with { SharedPos = true }).Validate());
    }
}

public class T5EncoderHalfPrecisionTests
{
    [Theory]
    [InlineData(ScalarType.BFloat16, 0.1)]
    [InlineData(ScalarType.Float16, 0.02)]
    public void Half_precision_runs_with_fp32_softmax_and_stays_close_to_fp32(ScalarType dtype, double tolerance)
    {
        var config = TextTestModels.Tiny;
        using var fp32 = new T5Encoder(config, CPU, ScalarType.Float32);
        fp32.LoadWeights(TextTestModels.RandomWeights(config));
        using var half = new T5Encoder(config, CPU, dtype);
        half.LoadWeights(TextTestModels.RandomWeights(config));
        using var scope = NewDisposeScope();
        var ids = randint(3, 300, new long[] { 2, 12 }, generator: new Generator(5));
        var mask = ones(2, 12, dtype: ScalarType.Int64);
        mask[1, 4..] = zeros(8, dtype: ScalarType.Int64);
        var a = TextEncoder.EncodeTokens(fp32, ids, mask);
        var b = TextEncoder.EncodeTokens(half, ids, mask);
        Assert.Equal(dtype, b.dtype);
        Assert.False(b.isnan().any().item<bool>() || b.isinf().any().item<bool>());
        double err = (a - b.to(ScalarType.Float32)).abs().max().item<float>();
        double scale = a.abs().max().item<float>();
        Assert.True(err <= tolerance * scale, $"{dtype}: max error {err} vs output scale {scale}");
        Assert.Equal(0f, b[1, 4..].to(ScalarType.Float32).abs().max().item<float>());
    }
}
