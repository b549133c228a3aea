using SelfForcing.Model.Dit;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Model.Tests.Dit;

/// <summary>
/// The KV cache's gradient path (training) must compute what the inference path computes; only where gradient
/// flows may differ (Reference vs Detached).
/// </summary>
public class KvCacheGradientTests
{
    private static readonly WanConfig Config = WanConfig.Tiny;

    /// <summary>Outputs of three chunks, each a denoising call then a context re-run, with gradient on or off.</summary>
    private static List<Tensor> Chunks(CausalWanModel model, bool grad, CacheGradient mode)
    {
        var gen = new Generator(11);
        using var context = randn([1, 8, Config.TextDim], generator: gen);
        using var cache = model.CreateCache(1, 9, 4, 4, CPU, ScalarType.Float32);
        cache.GradientMode = mode;
        var outputs = new List<Tensor>();
        for (int c = 0; c < 3; c++)
        {
            using var x = randn([1, Config.InDim, 3, 4, 4], generator: gen);
            using var clean = randn([1, Config.InDim, 3, 4, 4], generator: gen);
            using var t = full([1, 3], 937.5f);
            using var t0 = zeros([1, 3]);
            long start = c * 3 * 4;
            using (grad ? enable_grad() : no_grad())
                outputs.Add(model.Forward(x, t, context, cache, start).detach());
            using (no_grad())
                model.Forward(clean, t0, context, cache, start).Dispose();
        }
        return outputs;
    }

    [Theory]
    [InlineData(CacheGradient.Reference)]
    [InlineData(CacheGradient.Detached)]
    public void Gradient_path_computes_the_inference_forward(CacheGradient mode)
    {
        using var model = new CausalWanModel(Config);
        model.InitializeRandom(5, std: 0.3);
        var inference = Chunks(model, grad: false, mode);
        var training = Chunks(model, grad: true, mode);
        for (int c = 0; c < 3; c++)
        {
            double err = (inference[c] - training[c]).abs().max().item<float>();
            double scale = inference[c].abs().max().item<float>();
            // Same keys in the same order; only the tensors holding them differ, so agreement is to float32 rounding.
            Assert.True(err <= 1e-6 * scale, $"chunk {c}: gradient path differs from inference by {err:E2} (scale {scale:E2})");
        }
    }
}
