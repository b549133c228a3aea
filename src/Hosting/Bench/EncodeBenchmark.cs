using System.Diagnostics;
using SelfForcing.Actors.Video;

namespace SelfForcing.Hosting.Bench;

/// <summary>
/// Times the encode-to-stream stage's work for one chunk of RGB frames (fMP4: one ffmpeg run per chunk; JPEG: one
/// run per chunk, a JPEG per frame) against the real-time budget of that chunk (its frames at the stream's fps).
/// </summary>
public static class EncodeBenchmark
{
    /// <returns>Median milliseconds per chunk after the first.</returns>
    public static double Run(string format, int width, int height, int frames, int chunks, double fps, TextWriter log)
    {
        if (format is not ("fmp4" or "jpeg")) throw new ArgumentException($"--format must be fmp4 or jpeg (got '{format}')");
        var rng = new Random(1);
        byte[] Chunk(int first) => Frames(rng, width, height, frames, first);
        var times = new List<double>();
        long bytes = 0;
        for (int c = 0; c <= chunks; c++)
        {
            var rgb = Chunk(c * frames);
            var clock = Stopwatch.StartNew();
            var payloads = format == "fmp4"
                ? FragmentedMp4ChunkEncoder.Encode(rgb, frames, width, height, fps, c, (long)c * frames)
                : JpegChunkEncoder.Encode(rgb, frames, width, height, (long)c * frames);
            double ms = clock.Elapsed.TotalMilliseconds;
            if (c == 0) { log.WriteLine($"first chunk (with init segment) {ms:F0} ms"); continue; }
            times.Add(ms);
            bytes += payloads.Sum(p => p.Data.LongLength);
            log.WriteLine($"chunk {c}: {ms:F0} ms, {payloads.Sum(p => p.Data.Length)} bytes");
        }
        times.Sort();
        double median = times[times.Count / 2], budget = frames / fps * 1000;
        log.WriteLine($"RESULT stage=encode format={format} size={width}x{height} frames/chunk={frames} encode_ms/chunk={median:F0} " +
                      $"bytes/chunk={bytes / chunks} realtime_budget_ms={budget:F0} share_of_budget={median / budget:P0}");
        return median;
    }

    /// <summary>fMP4 messages of <paramref name="chunks"/> consecutive chunks (the first with its init segment), as the encode stage makes them.</summary>
    public static IReadOnlyList<IReadOnlyList<StreamPayload>> Chunks(int width, int height, int frames, int chunks, double fps)
    {
        var rng = new Random(1);
        return Enumerable.Range(0, chunks)
            .Select(c => (IReadOnlyList<StreamPayload>)FragmentedMp4ChunkEncoder.Encode(Frames(rng, width, height, frames, c * frames), frames, width, height, fps, c, (long)c * frames))
            .ToList();
    }

    // Smooth moving content: random noise would make H.264 far slower than real video does.
    private static byte[] Frames(Random rng, int width, int height, int frames, int first)
    {
        var rgb = new byte[frames * width * height * 3];
        int phase = rng.Next(256);
        for (int f = 0; f < frames; f++)
        for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
        {
            int i = ((f * height + y) * width + x) * 3;
            rgb[i] = (byte)(x / 2 + (first + f) * 4 + phase);
            rgb[i + 1] = (byte)(y / 2 + (first + f) * 2);
            rgb[i + 2] = (byte)((x + y) / 4);
        }
        return rgb;
    }
}
