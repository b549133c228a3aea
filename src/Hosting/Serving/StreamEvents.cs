using System.Text.Json.Nodes;
using SelfForcing.Actors.Messages;

namespace SelfForcing.Hosting.Serving;

/// <summary>The JSON bodies published on <c>&lt;prefix&gt;.streams.&lt;id&gt;.events</c>.</summary>
public static class StreamEvents
{
    public static JsonObject Started(ServedStream s, double seconds, string videoFormat) => new()
    {
        ["type"] = "started", ["stream"] = s.Id, ["chunk"] = 0, ["frames"] = 0, ["seconds"] = Round(seconds),
        ["seed"] = s.Handle.Seed, ["chunks"] = s.Handle.TotalChunks ?? 0, ["format"] = videoFormat,
    };

    /// <summary>One published chunk: its frames, the stream's elapsed time, and what each stage spent on it.</summary>
    public static JsonObject Chunk(ServedStream s, EncodedChunk c, double seconds) => new()
    {
        ["type"] = "chunk", ["stream"] = s.Id, ["chunk"] = c.Chunk, ["frames"] = c.Frames, ["seconds"] = Round(seconds),
        ["first_frame"] = c.FirstFrame, ["width"] = c.Width, ["height"] = c.Height,
        ["denoise_seconds"] = Round(c.Timings.Denoise), ["decode_seconds"] = Round(c.Timings.Decode), ["encode_seconds"] = Round(c.Timings.Encode),
    };

    public static JsonObject Prompt(ServedStream s, int fromChunk, double seconds) => new()
    {
        ["type"] = "prompt", ["stream"] = s.Id, ["chunk"] = fromChunk, ["frames"] = s.FramesPublished, ["seconds"] = Round(seconds),
    };

    /// <summary>completed, cancelled or failed; <c>chunk</c> = chunks published, <c>frames</c> = frames published.</summary>
    public static JsonObject Ended(ServedStream s, string type, double seconds, string? reason)
    {
        var o = new JsonObject
        {
            ["type"] = type, ["stream"] = s.Id, ["chunk"] = s.ChunksPublished, ["frames"] = s.FramesPublished, ["seconds"] = Round(seconds),
        };
        if (reason is not null) o["reason"] = reason;
        return o;
    }

    private static double Round(double seconds) => Math.Round(seconds, 4);
}
