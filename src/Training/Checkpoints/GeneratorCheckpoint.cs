using SelfForcing.Model.Checkpoints;
using SelfForcing.Model.Dit;
using static TorchSharp.torch;

namespace SelfForcing.Training.Checkpoints;

/// <summary>
/// A checkpoint with only the <c>generator</c> group, as the reference's ODE trainer saves it (<c>ode_init.pt</c>, the
/// DMD stage's <c>generator_ckpt</c>): <c>model.pt</c> (torch.save zip) mapping <c>generator</c> to <c>model.&lt;Wan key&gt;</c>
/// tensors, and the same dict as <c>generator.safetensors</c>; inference and the DMD trainer read it as they read
/// <see cref="DmdCheckpoint"/>'s folders.
/// </summary>
public static class GeneratorCheckpoint
{
    public const string Group = "generator";

    public static void Save(string folder, WanTransformer generator)
    {
        Directory.CreateDirectory(folder);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var tensors = generator.named_parameters().ToDictionary(p => "model." + p.name, p => p.parameter.detach(), StringComparer.Ordinal);
        TorchZipWriter.Write(Path.Combine(folder, DmdCheckpoint.TorchFile),
            new Dictionary<string, object> { [Group] = tensors.ToDictionary(kv => kv.Key, kv => (object)kv.Value) });
        SafeTensorsWriter.Write(Path.Combine(folder, Group + ".safetensors"), tensors);
    }

    /// <summary>Loads the generator group of such a folder (or of a DMD checkpoint folder) strictly into <paramref name="generator"/>.</summary>
    public static void Load(string folder, WanTransformer generator)
    {
        using var state = StateDict.Open(Path.Combine(folder, Group + ".safetensors"));
        state.WithPrefix("model.").LoadInto(generator, Group);
    }
}
