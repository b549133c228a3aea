namespace SelfForcing.Hosting.Output;

/// <summary>A one-line progress bar: redrawn in place on a terminal, one line per update when redirected.</summary>
public sealed class ProgressBar(TextWriter writer, int total)
{
    private readonly bool _interactive = ReferenceEquals(writer, Console.Out) && !Console.IsOutputRedirected;

    public void Report(int done, long frames, TimeSpan elapsed)
    {
        const int width = 30;
        int filled = total <= 0 ? 0 : Math.Min(width, done * width / total);
        double fps = elapsed.TotalSeconds > 0 ? frames / elapsed.TotalSeconds : 0;
        var line = $"    [{new string('#', filled)}{new string('-', width - filled)}] chunk {done}/{total}, {frames} frames, {fps:F1} frames/s";
        if (_interactive) writer.Write("\r" + line);
        else writer.WriteLine(line);
    }

    public void Done()
    {
        if (_interactive) writer.WriteLine();
    }
}
