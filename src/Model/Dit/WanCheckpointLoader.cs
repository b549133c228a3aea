using System.Text.Json;
using SelfForcing.Model.Checkpoints;
using static TorchSharp.torch;

namespace SelfForcing.Model.Dit;

/// <summary>
/// Builds the Self-Forcing generator the way a user's files lay it out: a Wan2.1 folder (<c>config.json</c> +
/// <c>diffusion_pytorch_model.safetensors</c>, possibly sharded) and, on top, the <c>generator</c> or
/// <c>generator_ema</c> state dict of <c>self_forcing_dmd.pt</c> (keys prefixed <c>model.</c>).
/// </summary>
public static class WanCheckpointLoader
{
    /// <summary>The folder's <c>config.json</c> with the causal options of the Self-Forcing wrapper applied.</summary>
    public static WanConfig ReadConfig(string wanFolder, int localAttnSize = -1, int sinkSize = 0, int numFramePerBlock = 3)
    {
        var path = Path.Combine(wanFolder, "config.json");
        if (!File.Exists(path)) throw new FileNotFoundException($"Wan model folder has no config.json: {wanFolder}", path);
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        if (doc.RootElement.TryGetProperty("model_type", out var type) && type.GetString() != "t2v")
            throw new NotSupportedException($"{path}: model_type '{type.GetString()}' is not supported (only t2v)");
        return (WanConfig.FromJson(doc.RootElement) with { LocalAttnSize = localAttnSize, SinkSize = sinkSize, NumFramePerBlock = numFramePerBlock }).Validate();
    }

    /// <summary>
    /// Loads the causal generator. With <paramref name="selfForcingCheckpoint"/>, the Wan folder's weights are
    /// skipped (the reference overwrites them all) and the chosen state dict is loaded strictly instead.
    /// </summary>
    public static CausalWanModel LoadCausal(string wanFolder, string? selfForcingCheckpoint, bool useEma, Device device, ScalarType dtype,
        int localAttnSize = -1, int sinkSize = 0)
    {
        var config = ReadConfig(wanFolder, localAttnSize, sinkSize);
        var model = new CausalWanModel(config, device, dtype);
        try
        {
            if (selfForcingCheckpoint is null)
            {
                using var sd = StateDict.Open(wanFolder);
                sd.LoadInto(model, $"{wanFolder} (Wan2.1 DiT)");
            }
            else
            {
                using var sd = StateDict.Open(selfForcingCheckpoint);
                var group = useEma ? "generator_ema." : "generator.";
                using var generator = sd.WithPrefix(group).NormalizeWrapperNames().StripOptionalPrefix("model.");
                generator.LoadInto(model, $"{selfForcingCheckpoint} [{group.TrimEnd('.')}]");
            }
            model.eval();
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
