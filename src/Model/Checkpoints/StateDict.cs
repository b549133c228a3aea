using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Model.Checkpoints;

/// <summary>
/// Named tensors from a checkpoint — a safetensors file, a folder of safetensors shards (with or without an
/// <c>*.safetensors.index.json</c>), or a PyTorch zip (<c>.pt/.pth/.bin</c>) — read lazily one tensor at a time.
/// <see cref="WithPrefix"/> selects a sub-dict (e.g. <c>generator_ema.</c>) as a view over the same files.
/// </summary>
public sealed class StateDict : IDisposable
{
    private sealed record Source(Func<string, (ScalarType, long[])> Info, Func<string, Tensor> Load);

    private readonly Dictionary<string, (Source Source, string Key)> _entries;
    private readonly List<IDisposable> _owned;
    private readonly bool _ownsFiles;

    public string Path { get; }
    public IReadOnlyList<string> Keys { get; }
    /// <summary>Entries that are not tensors (e.g. an int <c>step</c>), by their dotted path.</summary>
    public IReadOnlyDictionary<string, object?> NonTensorEntries { get; }

    private StateDict(string path, List<(string Name, Source Source, string Key)> entries, IReadOnlyDictionary<string, object?> other,
        List<IDisposable> owned, bool ownsFiles)
    {
        Path = path;
        _entries = new Dictionary<string, (Source, string)>(StringComparer.Ordinal);
        foreach (var (name, source, key) in entries)
            if (!_entries.TryAdd(name, (source, key))) throw new CheckpointFormatException($"{path}: tensor '{name}' appears twice");
        Keys = entries.Select(e => e.Name).ToArray();
        NonTensorEntries = other;
        _owned = owned;
        _ownsFiles = ownsFiles;
    }

    public static StateDict Open(string path)
    {
        if (Directory.Exists(path)) return LoadFolder(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint not found: {path}", path);
        if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) || !TorchZipCheckpoint.LooksLikeZip(path) && LooksLikeSafeTensors(path))
            return FromSafeTensors(path, [path]);
        var zip = TorchZipCheckpoint.Open(path);
        var src = new Source(zip.Info, zip.Load);
        return new StateDict(path, zip.Keys.Select(k => (k, src, k)).ToList(), zip.NonTensorEntries, [zip], true);
    }

    // A safetensors file begins with a little-endian header length followed by '{'.
    private static bool LooksLikeSafeTensors(string path)
    {
        using var fs = File.OpenRead(path);
        Span<byte> head = stackalloc byte[9];
        return fs.Read(head) == 9 && head[8] == (byte)'{';
    }

    private static StateDict LoadFolder(string folder)
    {
        var index = Directory.GetFiles(folder, "*.safetensors.index.json").OrderBy(f => f, StringComparer.Ordinal).FirstOrDefault();
        List<string> files;
        if (index is not null) files = ShardsFromIndex(folder, index);
        else
        {
            files = Directory.GetFiles(folder, "*.safetensors").OrderBy(f => f, StringComparer.Ordinal).ToList();
        }
        if (files.Count == 0) throw new FileNotFoundException($"no *.safetensors weights in folder {folder}");
        return FromSafeTensors(folder, files);
    }

    /// <summary>
    /// The shard files an index names. They must be plain file names in the folder: an index is as untrusted as the
    /// weights, and '../' or an absolute path would read files elsewhere.
    /// </summary>
    private static List<string> ShardsFromIndex(string folder, string index)
    {
        if (FileSize.Of(index) > CheckpointLimits.MaxSafeTensorsHeaderBytes)
            throw new CheckpointFormatException($"{index}: index is over {CheckpointLimits.MaxSafeTensorsHeaderBytes} bytes");
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(index));
            var names = doc.RootElement.GetProperty("weight_map").EnumerateObject()
                .Select(p => p.Value.GetString() ?? throw new CheckpointFormatException($"{index}: weight_map entry '{CheckpointText.Clip(p.Name)}' is null"))
                .Distinct().ToList();
            foreach (var name in names)
                if (name.Length == 0 || System.IO.Path.GetFileName(name) != name || name is "." or "..")
                    throw new CheckpointFormatException($"{index}: weight_map names '{CheckpointText.Clip(name)}', which is not a file in the folder");
            return names.Select(f => System.IO.Path.Combine(folder, f)).ToList();
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new CheckpointFormatException($"{index}: malformed safetensors index ({CheckpointText.Clip(e.Message)})", e);
        }
    }

    private static StateDict FromSafeTensors(string path, IEnumerable<string> files)
    {
        var owned = new List<IDisposable>();
        var entries = new List<(string, Source, string)>();
        try
        {
            foreach (var f in files)
            {
                var st = SafeTensorsFile.Open(f);
                owned.Add(st);
                var src = new Source(k => (st.Entries[k].DType, st.Entries[k].Shape), st.Load);
                entries.AddRange(st.Entries.Keys.OrderBy(k => st.Entries[k].Begin).Select(k => (k, src, k)));
            }
            return new StateDict(path, entries, new Dictionary<string, object?>(), owned, true);
        }
        catch
        {
            foreach (var o in owned) o.Dispose();
            throw;
        }
    }

    /// <summary>A state dict made of tensors already in memory (tests, converters).</summary>
    public static StateDict FromTensors(string name, IReadOnlyDictionary<string, Tensor> tensors)
    {
        var src = new Source(k => (tensors[k].dtype, tensors[k].shape), k => tensors[k].clone());
        return new StateDict(name, tensors.Keys.Select(k => (k, src, k)).ToList(), new Dictionary<string, object?>(), [], false);
    }

    public bool Contains(string name) => _entries.ContainsKey(name);

    public (ScalarType DType, long[] Shape) Info(string name) =>
        _entries.TryGetValue(name, out var e) ? e.Source.Info(e.Key) : throw new KeyNotFoundException($"{Path}: no tensor named '{name}'");

    /// <summary>Reads one tensor as a new CPU tensor (stored dtype unless <paramref name="dtype"/> is given). The caller disposes it.</summary>
    public Tensor Load(string name, ScalarType? dtype = null)
    {
        if (!_entries.TryGetValue(name, out var e)) throw new KeyNotFoundException($"{Path}: no tensor named '{name}'");
        var t = e.Source.Load(e.Key);
        if (dtype is null || t.dtype == dtype) return t;
        using (t) return t.to(dtype.Value);
    }

    /// <summary>
    /// Every tensor in key order, read one at a time as it is enumerated; the consumer disposes each (so loading a
    /// model from it never holds more than one tensor beyond the model).
    /// </summary>
    public IEnumerable<KeyValuePair<string, Tensor>> Tensors()
    {
        foreach (var k in Keys) yield return new(k, Load(k));
    }

    /// <summary>
    /// Tensors whose names start with <paramref name="prefix"/>, with the prefix removed. Throws, listing the
    /// top-level groups, when nothing matches.
    /// </summary>
    public StateDict WithPrefix(string prefix)
    {
        var selected = Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal))
            .Select(k => (k[prefix.Length..], _entries[k].Source, _entries[k].Key)).ToList();
        if (selected.Count == 0)
            throw new CheckpointFormatException($"{Path}: no tensors under '{prefix}'; top-level groups: {string.Join(", ", Groups())}");
        var other = NonTensorEntries.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value);
        // A view shares the underlying files with its parent, which keeps ownership.
        return new StateDict(Path + "[" + prefix + "]", selected, other, [], false);
    }

    /// <summary>Removes <paramref name="prefix"/> from every key when all keys carry it (e.g. <c>model.</c>); otherwise returns this dict.</summary>
    public StateDict StripOptionalPrefix(string prefix) =>
        Keys.Count > 0 && Keys.All(k => k.StartsWith(prefix, StringComparison.Ordinal)) ? WithPrefix(prefix) : this;

    /// <summary>Renames keys (e.g. to drop FSDP wrapper segments) into a view.</summary>
    public StateDict Rename(Func<string, string> rename)
    {
        var list = Keys.Select(k => (rename(k), _entries[k].Source, _entries[k].Key)).ToList();
        return new StateDict(Path, list, NonTensorEntries, [], false);
    }

    /// <summary>Drops the FSDP / activation-checkpoint / torch.compile wrapper segments the trainer may leave in keys.</summary>
    public StateDict NormalizeWrapperNames() =>
        Rename(k => k.Replace("_fsdp_wrapped_module.", "").Replace("_checkpoint_wrapped_module.", "").Replace("_orig_mod.", ""));

    public IEnumerable<string> Groups() => Keys.Select(k => k.Split('.')[0]).Distinct();

    /// <summary>
    /// Copies every tensor into <paramref name="module"/>'s parameters and buffers, converting dtype and device,
    /// one tensor at a time (never two copies of the model). Strict: missing, unexpected and mis-shaped keys
    /// are all listed in one error, and nothing is copied.
    /// </summary>
    public void LoadInto(nn.Module module, string? what = null)
    {
        var targets = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, p) in module.named_parameters()) targets[name] = p;
        foreach (var (name, b) in module.named_buffers()) targets.TryAdd(name, b);
        var shapes = Keys.ToDictionary(k => k, k => Info(k).Shape);
        ModuleWeights.CheckStrict(targets, shapes, what ?? module.GetName());
        using var noGrad = no_grad();
        foreach (var (name, target) in targets)
        {
            using var scope = NewDisposeScope();
            var src = Load(name);
            target.copy_(src.to(target.dtype, target.device));
        }
    }

    public void Dispose()
    {
        if (!_ownsFiles) return;
        foreach (var o in _owned) o.Dispose();
    }
}
