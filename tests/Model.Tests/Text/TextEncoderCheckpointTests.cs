using SelfForcing.Model.Checkpoints;
using SelfForcing.Model.Tests.Checkpoints;
using SelfForcing.Model.Text;
using static TorchSharp.torch;

namespace SelfForcing.Model.Tests.Text;

/// <summary>The UMT5 weights arrive as a bf16 PyTorch zip (models_t5_umt5-xxl-enc-bf16.pth) through StateDict.</summary>
public class TextEncoderCheckpointTests
{
    [Fact]
    public void Encoder_loads_from_a_bf16_pth_through_the_checkpoint_loader()
    {
        var weights = TextTestModels.RandomWeights(TextTestModels.Tiny);
        var bf16 = weights.ToDictionary(kv => kv.Key, kv => kv.Value.to(ScalarType.BFloat16));
        var path = Path.Combine(Path.GetTempPath(), $"t5-{Guid.NewGuid():N}.pth");
        try
        {
            TorchZipTestWriter.Write(path, bf16.ToDictionary(kv => kv.Key, kv => (object)kv.Value));
            IEnumerable<KeyValuePair<string, Tensor>> FromFile()
            {
                using var sd = StateDict.Open(path);
                foreach (var kv in sd.Tensors()) yield return kv;
            }
            using var fromFile = new TextEncoder(TextTestModels.Tokenizer(), TextTestModels.Tiny, FromFile, CPU, ScalarType.Float32);
            using var direct = new TextEncoder(TextTestModels.Tokenizer(), TextTestModels.Tiny,
                () => bf16.Select(kv => new KeyValuePair<string, Tensor>(kv.Key, kv.Value.clone())), CPU, ScalarType.Float32);
            string[] prompts = ["A cat walks on the grass.", "a red car"];
            using var a = fromFile.Encode(prompts);
            using var b = direct.Encode(prompts);
            Assert.Equal(new long[] { 2, TextTestModels.TextLen, 32 }, a.shape);
            Assert.True(a.eq(b).all().item<bool>(), "weights read from the .pth differ from the same weights given directly");
        }
        finally { File.Delete(path); }
    }
}
