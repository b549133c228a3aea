using SelfForcing.Model.Checkpoints;
using SelfForcing.Training.Dmd;
using static TorchSharp.torch;

namespace SelfForcing.Training.Checkpoints;

/// <summary>
/// A DMD trainer's checkpoint folder. The weights are in the reference layout (<c>checkpoints.md</c> §3): <c>model.pt</c>
/// (torch.save zip) holding <c>generator</c>, <c>critic</c> and, once the EMA exists, <c>generator_ema</c>, each mapping
/// <c>model.&lt;Wan key&gt;</c> to a tensor, so inference (<c>WanCheckpointLoader</c>, or the reference's
/// <c>torch.load</c>) reads it as it reads <c>self_forcing_dmd.pt</c>; the same three dicts as
/// <c>NAME.safetensors</c>. <c>trainer_state.safetensors</c> adds what only a resume needs (optimisers, EMA, step,
/// random state). The EMA keys are written clean, as in the released file, not with the FSDP segment the reference's
/// trainer leaves in them.
/// </summary>
public static class DmdCheckpoint
{
    public const string TorchFile = "model.pt";
    public const string TrainerStateFile = "trainer_state.safetensors";
    public static readonly string[] Groups = ["generator", "critic", "generator_ema"];

    public static void Save(string folder, DmdTrainer trainer)
    {
        Directory.CreateDirectory(folder);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var groups = new Dictionary<string, Dictionary<string, Tensor>>
        {
            ["generator"] = Prefixed(trainer.Rollout.Generator.Model.named_parameters().Select(p => (p.name, (Tensor)p.parameter))),
            ["critic"] = Prefixed(trainer.FakeScore.Model.named_parameters().Select(p => (p.name, (Tensor)p.parameter))),
        };
        if (trainer.Ema is { } ema) groups["generator_ema"] = Prefixed(ema.Shadow.Select(kv => (kv.Key, kv.Value)));

        TorchZipWriter.Write(Path.Combine(folder, TorchFile),
            groups.ToDictionary(g => g.Key, g => (object)g.Value.ToDictionary(kv => kv.Key, kv => (object)kv.Value)));
        foreach (var (name, tensors) in groups) SafeTensorsWriter.Write(Path.Combine(folder, name + ".safetensors"), tensors);
        // A stale EMA file from an earlier save into the same folder would otherwise survive a save without one.
        if (!groups.ContainsKey("generator_ema")) File.Delete(Path.Combine(folder, "generator_ema.safetensors"));
        SafeTensorsWriter.Write(Path.Combine(folder, TrainerStateFile), trainer.ExportResumeState().ToList(),
            new Dictionary<string, string> { ["format"] = "selfforcing-dmd-trainer-state-1" });
    }

    /// <summary>Restores weights (strictly: every parameter, no extras) and trainer state from <see cref="Save"/>'s folder.</summary>
    public static void Restore(string folder, DmdTrainer trainer)
    {
        using (var generator = StateDict.Open(Path.Combine(folder, "generator.safetensors")))
            generator.WithPrefix("model.").LoadInto(trainer.Rollout.Generator.Model, "generator");
        using (var critic = StateDict.Open(Path.Combine(folder, "critic.safetensors")))
            critic.WithPrefix("model.").LoadInto(trainer.FakeScore.Model, "critic");
        using var scope = NewDisposeScope();
        using var state = StateDict.Open(Path.Combine(folder, TrainerStateFile));
        trainer.RestoreResumeState(state.Tensors().ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal));
    }

    private static Dictionary<string, Tensor> Prefixed(IEnumerable<(string Name, Tensor Value)> tensors) =>
        tensors.ToDictionary(t => "model." + t.Name, t => t.Value.detach(), StringComparer.Ordinal);
}
