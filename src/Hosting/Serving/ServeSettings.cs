using Akka.Configuration;
using SelfForcing.Hosting.Page;

namespace SelfForcing.Hosting.Serving;

/// <summary>Typed view of <c>selfforcing.serve</c> (see hocon/selfforcing.conf).</summary>
public sealed record ServeSettings
{
    public string NatsUrl { get; init; } = "nats://127.0.0.1:4222";
    /// <summary>First token of every subject: <c>&lt;prefix&gt;.api.*</c>, <c>&lt;prefix&gt;.streams.&lt;id&gt;.video|events</c>.</summary>
    public string SubjectPrefix { get; init; } = "selfforcing";
    /// <summary>JetStream stream that records every stream's video and events; empty = derived from the prefix.</summary>
    public string JetStreamName { get; init; } = "";
    public bool JetStreamFileStorage { get; init; } = true;
    /// <summary>Re-sends with the same Nats-Msg-Id inside this window are stored once.</summary>
    public TimeSpan DuplicateWindow { get; init; } = TimeSpan.FromMinutes(2);
    public TimeSpan MaxAge { get; init; } = TimeSpan.FromHours(24);
    /// <summary>Bytes the record may hold (oldest dropped first); −1 = no limit.</summary>
    public long MaxBytes { get; init; } = 4L << 30;
    /// <summary>Fps range a client may ask for.</summary>
    public double MaxFps { get; init; } = 16;
    /// <summary>Time a client waits for the pipeline to accept a request before the API answers with an error.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Where the page listens (<c>host:port</c>, port 0 = any free one); empty = no page.</summary>
    public string Http { get; init; } = "";
    /// <summary>The page has no login: listening on anything but loopback must be asked for.</summary>
    public bool HttpAllowRemote { get; init; }

    public string StreamName => JetStreamName.Length > 0 ? JetStreamName : SubjectPrefix.Replace('.', '_').ToUpperInvariant() + "_STREAMS";

    public static ServeSettings FromConfig(Config root)
    {
        var c = root.GetConfig("selfforcing.serve") ?? Config.Empty;
        var d = new ServeSettings();
        return new ServeSettings
        {
            NatsUrl = c.GetString("nats-url", d.NatsUrl),
            SubjectPrefix = c.GetString("subject-prefix", d.SubjectPrefix),
            JetStreamName = c.GetString("jetstream.stream-name", d.JetStreamName),
            JetStreamFileStorage = c.GetString("jetstream.storage", "file") switch
            {
                "file" => true,
                "memory" => false,
                var s => throw new ArgumentException($"selfforcing.serve.jetstream.storage must be file or memory (got '{s}')"),
            },
            DuplicateWindow = c.GetTimeSpan("jetstream.duplicate-window", d.DuplicateWindow),
            MaxAge = c.GetTimeSpan("jetstream.max-age", d.MaxAge),
            MaxBytes = c.HasPath("jetstream.max-bytes") ? c.GetByteSize("jetstream.max-bytes") ?? d.MaxBytes : d.MaxBytes,
            MaxFps = c.GetDouble("max-fps", d.MaxFps),
            RequestTimeout = c.GetTimeSpan("request-timeout", d.RequestTimeout),
            Http = c.GetString("http", d.Http),
            HttpAllowRemote = c.GetBoolean("http-allow-remote", d.HttpAllowRemote),
        }.Validate();
    }

    public ServeSettings Validate()
    {
        var errors = new List<string>();
        if (!Uri.TryCreate(NatsUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("nats" or "tls" or "ws" or "wss"))
            errors.Add($"nats-url '{NatsUrl}' must look like nats://host:port");
        if (!IsSubjectPrefix(SubjectPrefix)) errors.Add($"subject-prefix '{SubjectPrefix}' must be NATS subject tokens (letters, digits, - and _, separated by dots)");
        if (DuplicateWindow <= TimeSpan.Zero) errors.Add("jetstream.duplicate-window must be positive");
        if (MaxAge < DuplicateWindow) errors.Add("jetstream.max-age must be at least the duplicate window");
        if (MaxBytes is 0 or < -1) errors.Add("jetstream.max-bytes must be positive or -1");
        if (MaxFps is < 1 or > 120) errors.Add("max-fps must be between 1 and 120");
        if (Http.Length > 0)
        {
            if (!PageEndpoint.TryParse(Http, out var endpoint)) errors.Add($"http '{Http}' must look like 127.0.0.1:8080");
            else if (!System.Net.IPAddress.IsLoopback(endpoint.Address) && !HttpAllowRemote)
                errors.Add($"http '{Http}' is not a loopback address; the page has no login, so binding it elsewhere needs --http-allow-remote (selfforcing.serve.http-allow-remote = true)");
        }
        if (errors.Count > 0) throw new ArgumentException("Invalid selfforcing.serve settings: " + string.Join("; ", errors));
        return this;
    }

    private static bool IsSubjectPrefix(string s) =>
        s.Length > 0 && s.Split('.').All(t => t.Length > 0 && t.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_'));
}
