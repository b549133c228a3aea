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
