using Akka.Configuration;

namespace SelfForcing.Actors;

/// <summary>The built-in defaults; hocon/selfforcing.conf documents every key and overrides them.</summary>
public static class PipelineHocon
{
    public const string DefaultText = """
        selfforcing {
          devices { text-encoder = cpu, denoiser = cpu, decoder = cpu }
          pipeline {
            max-in-flight = 2
            max-attempts = 3
            backoff-min = 20ms
            backoff-max = 2s
            latent-height = 60
            latent-width = 104
            max-streams = 64
          }
          rolling { sink-frames = 3, window-frames = 12 }
          text-encoder { unload-after-use = off }
          # One thread per stage worker: TorchSharp dispose scopes and device streams are per thread.
          device-dispatcher { type = PinnedDispatcher }
          fault-injection { }
        }
        akka { loglevel = WARNING, stdout-loglevel = WARNING }
        """;

    public static Config Default { get; } = ConfigurationFactory.ParseString(DefaultText);

    /// <summary>Reads a HOCON file and falls back to the defaults for anything it leaves out.</summary>
    public static Config Load(string? path) =>
        path is null ? Default
        : File.Exists(path) ? ConfigurationFactory.ParseString(File.ReadAllText(path)).WithFallback(Default)
        : throw new FileNotFoundException($"configuration file not found: {path}", path);
}
