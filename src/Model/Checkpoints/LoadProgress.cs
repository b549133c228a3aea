using System.Diagnostics;
using System.Globalization;

namespace SelfForcing.Model.Checkpoints;

/// <summary>
/// Reports weight loads as they happen: one line when a load starts (what, file, size) and one when it is done
/// (elapsed). Loads can run on stage threads (the text encoder loads at its first prompt), so writes are synchronised.
/// </summary>
public sealed class LoadProgress(TextWriter log)
{
    private readonly TextWriter _log = TextWriter.Synchronized(log);

    public Step Begin(string what, string path, long bytes)
    {
        _log.WriteLine($"Loading {what} from {path} ({Size(bytes)})");
        return new Step(_log, what, Stopwatch.StartNew());
    }

    /// <summary>
    /// Every tensor of the checkpoint at <paramref name="path"/>, read one at a time as it is enumerated (the consumer
    /// disposes each). The start line is written when enumeration begins, i.e. when the load really happens (a text
    /// encoder's weight source is enumerated at its first prompt and after every unload), not when this is called.
    /// </summary>
    public IEnumerable<KeyValuePair<string, TorchSharp.torch.Tensor>> Stream(string what, string path)
    {
        var step = Begin(what, path, FileSize.Of(path));
        using var sd = StateDict.Open(path);
        foreach (var kv in sd.Tensors()) yield return kv;
        step.Done();
    }

    /// <summary>One load in progress.</summary>
    public sealed class Step(TextWriter log, string what, Stopwatch clock)
    {
        public void Done() => log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  loaded {what} in {clock.Elapsed.TotalSeconds:F1} s"));
    }

    /// <summary>Bytes in GB (decimal, as file managers show them) above 1 GB, else MB.</summary>
    public static string Size(long bytes) => bytes >= 1_000_000_000
        ? string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e9:F1} GB")
        : string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e6:F1} MB");
}
