using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Model.Checkpoints;

/// <summary>
/// Strict copy of named tensors into a module's parameters and buffers: every key must map one to one with the
/// right shape, or the error lists all missing, unexpected and mis-shaped keys. Values are converted to the
/// parameter's dtype and device; each source tensor may be disposed by the caller right after.
/// </summary>
public static class ModuleWeights
{
    /// <summary>Throws one error listing every missing, unexpected and mis-shaped key.</summary>
    public static void CheckStrict(IReadOnlyDictionary<string, Tensor> targets, IReadOnlyDictionary<string, long[]> shapes, string what)
    {
        var missing = targets.Keys.Where(k => !shapes.ContainsKey(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        var unexpected = shapes.Keys.Where(k => !targets.ContainsKey(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        var misShaped = shapes.Where(kv => targets.TryGetValue(kv.Key, out var t) && !t.shape.SequenceEqual(kv.Value))
            .Select(kv => $"{kv.Key}: checkpoint [{string.Join(", ", kv.Value)}] vs model [{string.Join(", ", targets[kv.Key].shape)}]")
            .OrderBy(k => k, StringComparer.Ordinal).ToList();
        if (missing.Count + unexpected.Count + misShaped.Count == 0) return;
        var parts = new List<string>();
        if (missing.Count > 0) parts.Add($"missing {missing.Count} key(s): {List(missing, ", ")}");
        if (unexpected.Count > 0) parts.Add($"unexpected {unexpected.Count} key(s): {List(unexpected, ", ")}");
        if (misShaped.Count > 0) parts.Add($"wrong shape for {misShaped.Count} key(s): {List(misShaped, "; ")}");
        throw new CheckpointFormatException($"Cannot load {what}: {string.Join(". ", parts)}");
    }

    /// <summary>Keys listed in an error, at most this many per kind: a wrong file can miss all ~800 of a DiT's keys.</summary>
    public const int MaxListedKeys = 12;

    private static string List(IReadOnlyList<string> keys, string separator) =>
        keys.Count <= MaxListedKeys ? string.Join(separator, keys)
        : $"{string.Join(separator, keys.Take(MaxListedKeys))} and {keys.Count - MaxListedKeys} more";

    public static void LoadStrict(nn.Module module, IReadOnlyDictionary<string, Tensor> weights, string? what = null)
    {
        var targets = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, p) in module.named_parameters()) targets[name] = p;
        foreach (var (name, b) in module.named_buffers()) targets.TryAdd(name, b);

        CheckStrict(targets, weights.ToDictionary(kv => kv.Key, kv => kv.Value.shape), what ?? module.GetName());
        using var noGrad = no_grad();
        foreach (var (name, target) in targets)
        {
            using var scope = NewDisposeScope();
            target.copy_(weights[name].to(target.dtype, target.device));
        }
    }
}
