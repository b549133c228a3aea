using Akka.Configuration;

namespace SelfForcing.Actors;

/// <summary>The built-in defaults: hocon/selfforcing.conf, embedded in this assembly (the one place they are written).</summary>
public static class PipelineHocon
{
    public static string DefaultText { get; } = ReadEmbedded();

    public static Config Default { get; } = ConfigurationFactory.ParseString(DefaultText);

    private static string ReadEmbedded()
    {
        using var stream = typeof(PipelineHocon).Assembly.GetManifestResourceStream("selfforcing.conf")
                           ?? throw new InvalidOperationException("the embedded defaults (selfforcing.conf) are missing from the build");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>Reads a HOCON file and falls back to the defaults for anything it leaves out.</summary>
    public static Config Load(string? path) =>
        path is null ? Default
        : File.Exists(path) ? ConfigurationFactory.ParseString(File.ReadAllText(path)).WithFallback(Default)
        : throw new FileNotFoundException($"configuration file not found: {path}", path);
}
