using System.Text.Json;
using System.Text.Json.Nodes;
using SelfForcing.Actors.Messages;
using SelfForcing.Actors.Video;

namespace SelfForcing.Hosting.Serving;

/// <summary>
/// The API's request bodies, validated field by field: unknown fields, wrong types, missing or out-of-range values
/// are an <see cref="ApiError"/> naming the field. The same rules serve NATS and (later) HTTP clients.
/// </summary>
public static class ApiRequests
{
    public const int MaxPromptChars = 10_000;
    public const int MaxChunks = 100_000;

    /// <summary><c>start</c>: chunks 0 = until cancelled.</summary>
    public static StreamRequest Start(JsonObject body, ServeSettings settings, IReadOnlyCollection<string> decoders, string defaultDecoder,
        int? latentHeight = null, int? latentWidth = null)
    {
        Only(body, "prompt", "seed", "chunks", "fps", "decoder", "format");
        string prompt = Prompt(body, "prompt");
        long seed = Integer(body, "seed", -1, -1, long.MaxValue);
        long chunks = Integer(body, "chunks", 7, 0, MaxChunks);
        double fps = Number(body, "fps", settings.MaxFps, 1, settings.MaxFps);
        string decoder = OneOf(body, "decoder", defaultDecoder, decoders);
        string formatName = OneOf(body, "format", "fmp4", ["fmp4", "jpeg"]);
        StreamFormats.TryParse(formatName, out var format);
        return new StreamRequest(prompt, seed, chunks == 0 ? null : (int)chunks, fps, decoder, latentHeight, latentWidth, format);
    }

    public static string Cancel(JsonObject body)
    {
        Only(body, "stream");
        return StreamId(body);
    }

    public static (string Stream, string Prompt) Prompt(JsonObject body)
    {
        Only(body, "stream", "prompt");
        return (StreamId(body), Prompt(body, "prompt"));
    }

    public static void List(JsonObject body) => Only(body);

    private static void Only(JsonObject body, params string[] allowed)
    {
        foreach (var (name, _) in body)
            if (!allowed.Contains(name, StringComparer.Ordinal))
                throw new ApiError(allowed.Length == 0 ? $"unknown field '{name}' (this request takes none)"
                    : $"unknown field '{name}' (allowed: {string.Join(", ", allowed)})", name);
    }

    private static string StreamId(JsonObject body)
    {
        var id = String(body, "stream") ?? throw new ApiError("'stream' is required", "stream");
        if (id.Length is 0 or > 64 || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            throw new ApiError($"unknown stream '{Shorten(id)}'", "stream");
        return id;
    }

    private static string Prompt(JsonObject body, string field)
    {
        var p = String(body, field) ?? throw new ApiError($"'{field}' is required", field);
        if (string.IsNullOrWhiteSpace(p)) throw new ApiError($"'{field}' is empty", field);
        if (p.Length > MaxPromptChars) throw new ApiError($"'{field}' is {p.Length} characters; the limit is {MaxPromptChars}", field);
        return p;
    }

    private static string? String(JsonObject body, string field)
    {
        if (!body.TryGetPropertyValue(field, out var node) || node is null) return null;
        if (node.GetValueKind() != JsonValueKind.String) throw new ApiError($"'{field}' must be a string", field);
        return node.GetValue<string>();
    }

    private static long Integer(JsonObject body, string field, long fallback, long min, long max)
    {
        if (!body.TryGetPropertyValue(field, out var node) || node is null) return fallback;
        if (node.GetValueKind() != JsonValueKind.Number) throw new ApiError($"'{field}' must be an integer", field);
        var v = node.AsValue();
        if (!v.TryGetValue(out long value))
        {
            // 7.0 is accepted as 7; 7.5 and out-of-range numbers are not.
            if (v.TryGetValue(out double d) && d == Math.Floor(d) && d >= min && d <= max) value = (long)d;
            else throw new ApiError($"'{field}' must be an integer between {min} and {max}", field);
        }
        if (value < min || value > max) throw new ApiError($"'{field}' must be between {min} and {max} (got {value})", field);
        return value;
    }

    private static double Number(JsonObject body, string field, double fallback, double min, double max)
    {
        if (!body.TryGetPropertyValue(field, out var node) || node is null) return fallback;
        if (node.GetValueKind() != JsonValueKind.Number || !node.AsValue().TryGetValue(out double value))
            throw new ApiError($"'{field}' must be a number", field);
        if (!(value >= min && value <= max)) throw new ApiError($"'{field}' must be between {min} and {max} (got {value})", field);
        return value;
    }

    private static string OneOf(JsonObject body, string field, string fallback, IReadOnlyCollection<string> allowed)
    {
        var s = String(body, field);
        if (s is null) return fallback;
        if (!allowed.Contains(s)) throw new ApiError($"'{field}' must be one of {string.Join(", ", allowed)} (got '{Shorten(s)}')", field);
        return s;
    }

    private static string Shorten(string s) => s.Length > 40 ? s[..40] + "…" : s;
}
