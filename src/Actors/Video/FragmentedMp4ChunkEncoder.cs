using System.Globalization;

namespace SelfForcing.Actors.Video;

/// <summary>
/// Encodes one chunk's RGB24 frames as H.264 in fragmented MP4. Every chunk is encoded on its own, starting with
/// an IDR frame, with the same encoder settings, so all chunks share one init segment (sent with chunk 0) and
/// each chunk becomes exactly one fragment, renumbered to continue the stream: sequence = chunk + 1, decode time
/// = frames before it. The encoding of a chunk depends only on the chunk, so a restarted encode stage produces the
/// same bytes again and nothing about the stream's past has to survive the restart; a late viewer can start at
/// any fragment after the init segment.
/// </summary>
public static class FragmentedMp4ChunkEncoder
{
    /// <summary>Ticks per frame; the track timescale is fps × this, so fractional rates (e.g. 12.5) stay exact.</summary>
    public const int TicksPerFrame = 1000;

    public static IReadOnlyList<StreamPayload> Encode(byte[] rgb, int frames, int width, int height, double fps, int chunk, long firstFrame)
    {
        if (frames < 1) throw new ArgumentException("a chunk needs at least one frame");
        if (rgb.Length != (long)frames * width * height * 3) throw new ArgumentException($"{rgb.Length} bytes is not {frames} frames of {width}x{height} RGB24");
        int timescale = checked((int)Math.Round(fps * TicksPerFrame));
        string rate = $"{timescale}/{TicksPerFrame}";
        var output = FfmpegProcess.Run(
        [
            "-hide_banner", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", $"{width}x{height}", "-framerate", rate, "-i", "-",
            "-an", "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2",
            "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
            // One keyframe per chunk: the chunk is one closed GOP, hence one fragment. SPS/PPS in-band as well, so
            // every fragment stands alone.
            "-g", frames.ToString(CultureInfo.InvariantCulture), "-keyint_min", frames.ToString(CultureInfo.InvariantCulture),
            "-sc_threshold", "0", "-x264-params", "repeat-headers=1",
            "-fflags", "+bitexact", "-movflags", "+frag_keyframe+empty_moov+default_base_moof+skip_trailer",
            "-video_track_timescale", timescale.ToString(CultureInfo.InvariantCulture), "-f", "mp4", "-",
        ], rgb);
        var (init, fragments) = Mp4Boxes.Split(output);
        if (fragments.Count != 1) throw new InvalidDataException($"expected one fragment for chunk {chunk}, ffmpeg wrote {fragments.Count}");
        var segment = fragments[0];
        Mp4Boxes.Renumber(segment, checked((uint)(chunk + 1)), checked((ulong)firstFrame * TicksPerFrame));
        var segmentPayload = new StreamPayload(StreamPayload.Segment, chunk, frames, segment);
        return chunk == 0 ? [new StreamPayload(StreamPayload.Init, 0, 0, init), segmentPayload] : [segmentPayload];
    }
}
