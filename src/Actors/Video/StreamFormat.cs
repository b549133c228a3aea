namespace SelfForcing.Actors.Video;

/// <summary>What the encode-to-stream stage turns a chunk's pixels into.</summary>
public enum StreamFormat
{
    /// <summary>Raw RGB24 frames (files: <c>generate</c> pipes them into one ffmpeg per video).</summary>
    Rgb24,
    /// <summary>H.264 in fragmented MP4: an init segment, then one media fragment per chunk (Media Source Extensions).</summary>
    Fmp4,
    /// <summary>One JPEG per frame.</summary>
    Jpeg,
}

public static class StreamFormats
{
    /// <summary>The names used by the API and HOCON.</summary>
    public static string Name(StreamFormat f) => f switch
    {
        StreamFormat.Rgb24 => "rgb24",
        StreamFormat.Fmp4 => "fmp4",
        StreamFormat.Jpeg => "jpeg",
        _ => throw new ArgumentOutOfRangeException(nameof(f)),
    };

    public static bool TryParse(string? s, out StreamFormat format)
    {
        switch (s)
        {
            case "rgb24": format = StreamFormat.Rgb24; return true;
            case "fmp4": format = StreamFormat.Fmp4; return true;
            case "jpeg": format = StreamFormat.Jpeg; return true;
            default: format = default; return false;
        }
    }
}
