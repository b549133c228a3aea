using System.Globalization;
using SelfForcing.Model.Checkpoints;
using static TorchSharp.torch;

namespace SelfForcing.Training.Ode;

/// <summary>
/// Teacher ODE trajectories for ODE-regression initialisation (the reference's <c>ode_latent</c> data): per prompt the
/// latents at the student's S denoising steps, most noisy first, then the clean result.
/// </summary>
/// <param name="OdeLatent">[N, S+1, F, C, H, W] float32.</param>
/// <param name="PromptEmbeds">[N, text_len, text_dim]: the conditioning each trajectory was sampled with.</param>
/// <param name="Timesteps">[S] float32: the timestep of each recorded entry (the clean end is t = 0).</param>
public sealed record OdePairs(Tensor OdeLatent, Tensor PromptEmbeds, Tensor Timesteps) : IDisposable
{
    public const string Format = "selfforcing-ode-pairs-1";

    public long Count => OdeLatent.shape[0];

    public float[] TimestepValues => Timesteps.to(ScalarType.Float32).cpu().data<float>().ToArray();

    /// <summary>Writes <c>ode_latent</c>, <c>prompt_embeds</c> and <c>timesteps</c> as safetensors with the settings as metadata.</summary>
    public void Save(string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var meta = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>()) { ["format"] = Format };
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        SafeTensorsWriter.Write(path, new Dictionary<string, Tensor>
        {
            ["ode_latent"] = OdeLatent.cpu().contiguous(), ["prompt_embeds"] = PromptEmbeds.cpu().contiguous(), ["timesteps"] = Timesteps.cpu().contiguous(),
        }, meta);
    }

    public static OdePairs Load(string path)
    {
        using var file = SafeTensorsFile.Open(path);
        if (!file.Metadata.TryGetValue("format", out var format) || format != Format)
            throw new ArgumentException($"{path} is not an ODE-pairs file ({Format})");
        foreach (var name in new[] { "ode_latent", "prompt_embeds", "timesteps" })
            if (!file.Entries.ContainsKey(name)) throw new ArgumentException($"{path} lacks '{name}'");
        var pairs = new OdePairs(file.Load("ode_latent"), file.Load("prompt_embeds"), file.Load("timesteps"));
        pairs.Validate();
        return pairs;
    }

    public OdePairs Validate()
    {
        if (OdeLatent.dim() != 6) throw new ArgumentException($"ode_latent must be [N, S+1, F, C, H, W], got [{string.Join(", ", OdeLatent.shape)}]");
        if (Timesteps.dim() != 1 || Timesteps.shape[0] + 1 != OdeLatent.shape[1])
            throw new ArgumentException($"{Timesteps.shape[0]} timesteps for {OdeLatent.shape[1]} trajectory entries (need one fewer: the last is clean)");
        if (PromptEmbeds.dim() != 3 || PromptEmbeds.shape[0] != OdeLatent.shape[0])
            throw new ArgumentException($"prompt_embeds must be [{OdeLatent.shape[0]}, text_len, text_dim], got [{string.Join(", ", PromptEmbeds.shape)}]");
        return this;
    }

    /// <summary>Samples <paramref name="index"/> as a batch (ode latents, prompt embeddings).</summary>
    public (Tensor OdeLatent, Tensor PromptEmbeds) Batch(long[] index)
    {
        using var ix = tensor(index, ScalarType.Int64);
        return (OdeLatent.index_select(0, ix), PromptEmbeds.index_select(0, ix));
    }

    public static string Describe(IEnumerable<float> timesteps) =>
        string.Join(", ", timesteps.Select(t => t.ToString("0.###", CultureInfo.InvariantCulture)));

    public void Dispose()
    {
        OdeLatent.Dispose(); PromptEmbeds.Dispose(); Timesteps.Dispose();
    }
}
