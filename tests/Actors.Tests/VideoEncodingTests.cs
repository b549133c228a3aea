using System.Diagnostics;
using SelfForcing.Actors.Video;

namespace SelfForcing.Actors.Tests;

/// <summary>fMP4 fragments encoded one chunk at a time join into one playable stream; JPEG frames split exactly.</summary>
public class VideoEncodingTests
{
    private const int W = 64, H = 48;

    /// <summary>Smooth moving gradients (seeded): realistic enough for H.264, distinct per frame.</summary>
    private static byte[] Frames(int frames, int first, int seed)
    {
        var rgb = new byte[frames * W * H * 3];
        var rng = new Random(seed);
        int phase = rng.Next(256);
        for (int f = 0; f < frames; f++)
        for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
        {
            int i = ((f * H + y) * W + x) * 3;
            rgb[i] = (byte)(x * 4 + (first + f) * 8 + phase);
            rgb[i + 1] = (byte)(y * 5 + (first + f) * 3);
            rgb[i + 2] = (byte)((x + y) * 2);
        }
        return rgb;
    }

    [Fact]
    public async Task Chunks_encoded_separately_concatenate_to_one_continuous_stream()
    {
        int[] chunkFrames = [9, 12, 12, 5];
        var payloads = new List<StreamPayload>();
        var source = new List<byte>();
        int first = 0;
        for (int c = 0; c < chunkFrames.Length; c++)
        {
            var rgb = Frames(chunkFrames[c], first, c);
            source.AddRange(rgb);
            payloads.AddRange(FragmentedMp4ChunkEncoder.Encode(rgb, chunkFrames[c], W, H, 16, c, first));
            first += chunkFrames[c];
        }
        Assert.Equal(StreamPayload.Init, payloads[0].Kind);
        Assert.Equal(chunkFrames.Length, payloads.Count(p => p.Kind == StreamPayload.Segment));
        Assert.Equal(chunkFrames, payloads.Where(p => p.Kind == StreamPayload.Segment).Select(p => p.Frames));

        var file = Path.GetTempFileName() + ".mp4";
        try
        {
            await File.WriteAllBytesAsync(file, payloads.SelectMany(p => p.Data).ToArray());
            // Every frame decodes, with evenly spaced timestamps 1/16 s apart: the fragments continue one another.
            var pts = Run("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time", "-of", "csv=p=0", file)
                .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(s => double.Parse(s.Trim().TrimEnd(','), System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            Assert.Equal(first, pts.Length);
            for (int i = 0; i < pts.Length; i++) Assert.Equal(i / 16.0, pts[i], 3);
            // And the pictures are the source's (lossy: mean error small compared to the 0..255 range).
            var decoded = RunBytes("ffmpeg", "-v", "error", "-i", file, "-f", "rawvideo", "-pix_fmt", "rgb24", "-");
            Assert.Equal(source.Count, decoded.Length);
            double mae = 0;
            for (int i = 0; i < decoded.Length; i++) mae += Math.Abs(decoded[i] - source[i]);
            mae /= decoded.Length;
            Assert.True(mae < 6, $"mean absolute error {mae:F2} per channel");
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void Encoding_a_chunk_again_gives_the_same_bytes()
    {
        // What makes a restarted encode stage safe: the re-sent fragment is the one already published.
        var rgb = Frames(12, 24, 5);
        var a = FragmentedMp4ChunkEncoder.Encode(rgb, 12, W, H, 16, 2, 24);
        var b = FragmentedMp4ChunkEncoder.Encode(rgb, 12, W, H, 16, 2, 24);
        Assert.Single(a);
        Assert.Equal(a[0].Data, b[0].Data);
    }

    [Fact]
    public void Jpeg_frames_split_one_per_frame()
    {
        var rgb = Frames(7, 0, 3);
        var jpegs = JpegChunkEncoder.Encode(rgb, 7, W, H, firstFrame: 14);
        Assert.Equal(7, jpegs.Count);
        Assert.Equal(Enumerable.Range(14, 7).Select(i => (long)i), jpegs.Select(j => j.Index));
        foreach (var j in jpegs)
        {
            Assert.Equal((byte)0xD8, j.Data[1]);
            Assert.Equal((byte)0xD9, j.Data[^1]);
        }
    }

    [Fact]
    public void Malformed_mp4_is_refused_with_the_reason()
    {
        var ex = Assert.Throws<InvalidDataException>(() => Mp4Boxes.Split([0, 0, 0, 99, (byte)'f', (byte)'t', (byte)'y', (byte)'p']));
        Assert.Contains("claims 99 bytes", ex.Message);
    }

    private static string Run(string exe, params string[] args) => System.Text.Encoding.UTF8.GetString(RunBytes(exe, args));

    private static byte[] RunBytes(string exe, params string[] args)
    {
        var psi = new ProcessStartInfo(exe, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var ms = new MemoryStream();
        var err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.BaseStream.CopyTo(ms);
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, err.Result);
        return ms.ToArray();
    }
}
