using Akka.Configuration;

namespace SelfForcing.Actors;

/// <summary>Typed view of <c>selfforcing.pipeline</c>, <c>selfforcing.devices</c> and <c>selfforcing.text-encoder</c> (see hocon/selfforcing.conf).</summary>
public sealed record PipelineSettings
{
    public string TextEncoderDevice { get; init; } = "cpu";
    public string DenoiserDevice { get; init; } = "cpu";
    public string DecoderDevice { get; init; } = "cpu";
    /// <summary>Most chunks waiting between two stages of one stream (and in its output channel).</summary>
    public int MaxInFlight { get; init; } = 2;
    /// <summary>Attempts a chunk gets at one stage before its stream fails.</summary>
    public int MaxAttempts { get; init; } = 3;
    public TimeSpan BackoffMin { get; init; } = TimeSpan.FromMilliseconds(20);
    public TimeSpan BackoffMax { get; init; } = TimeSpan.FromSeconds(2);
    public int DefaultLatentHeight { get; init; } = 60;
    public int DefaultLatentWidth { get; init; } = 104;
    public int MaxStreams { get; init; } = 64;
    public string WorkerDispatcher { get; init; } = "selfforcing.device-dispatcher";
    /// <summary>Latent frames rolling attention keeps forever (the sink) for unbounded and long streams.</summary>
    public int RollingSinkFrames { get; init; } = 3;
    /// <summary>Most recent latent frames rolling attention keeps besides the sink.</summary>
    public int RollingWindowFrames { get; init; } = 12;

    public Engines.RollingAttention LongStreamAttention => new(RollingSinkFrames, RollingWindowFrames);
    /// <summary>Low-memory hosts: drop the text encoder's weights after each new prompt, reloading them for the next.</summary>
    public bool UnloadTextEncoderAfterUse { get; init; }

    public static PipelineSettings FromConfig(Config root)
    {
        var c = root.GetConfig("selfforcing") ?? Config.Empty;
        var d = new PipelineSettings();
        return new PipelineSettings
        {
            TextEncoderDevice = c.GetString("devices.text-encoder", d.TextEncoderDevice),
            DenoiserDevice = c.GetString("devices.denoiser", d.DenoiserDevice),
            DecoderDevice = c.GetString("devices.decoder", d.DecoderDevice),
            MaxInFlight = c.GetInt("pipeline.max-in-flight", d.MaxInFlight),
            MaxAttempts = c.GetInt("pipeline.max-attempts", d.MaxAttempts),
            BackoffMin = c.GetTimeSpan("pipeline.backoff-min", d.BackoffMin),
            BackoffMax = c.GetTimeSpan("pipeline.backoff-max", d.BackoffMax),
            DefaultLatentHeight = c.GetInt("pipeline.latent-height", d.DefaultLatentHeight),
            DefaultLatentWidth = c.GetInt("pipeline.latent-width", d.DefaultLatentWidth),
            MaxStreams = c.GetInt("pipeline.max-streams", d.MaxStreams),
            RollingSinkFrames = c.GetInt("rolling.sink-frames", d.RollingSinkFrames),
            RollingWindowFrames = c.GetInt("rolling.window-frames", d.RollingWindowFrames),
            UnloadTextEncoderAfterUse = c.GetBoolean("text-encoder.unload-after-use", d.UnloadTextEncoderAfterUse),
        }.Validate();
    }

    public PipelineSettings Validate()
    {
        var errors = new List<string>();
        if (MaxInFlight < 1) errors.Add("max-in-flight must be >= 1");
        if (MaxAttempts < 1) errors.Add("max-attempts must be >= 1");
        if (BackoffMin < TimeSpan.Zero || BackoffMax < BackoffMin) errors.Add("backoff-min must be >= 0 and <= backoff-max");
        if (DefaultLatentHeight < 2 || DefaultLatentWidth < 2 || DefaultLatentHeight % 2 != 0 || DefaultLatentWidth % 2 != 0)
            errors.Add("latent-height/latent-width must be even and >= 2");
        if (MaxStreams < 1) errors.Add("max-streams must be >= 1");
        if (RollingSinkFrames < 0) errors.Add($"rolling.sink-frames must be >= 0 (got {RollingSinkFrames})");
        if (RollingWindowFrames < 1) errors.Add($"rolling.window-frames must be >= 1 (got {RollingWindowFrames})");
        foreach (var (k, v) in new[] { ("text-encoder", TextEncoderDevice), ("denoiser", DenoiserDevice), ("decoder", DecoderDevice) })
            if (v != "cpu" && !v.StartsWith("cuda", StringComparison.Ordinal)) errors.Add($"devices.{k} '{v}' must be cpu or cuda[:N]");
        if (errors.Count > 0) throw new ArgumentException("Invalid selfforcing settings: " + string.Join("; ", errors));
        return this;
    }
}
