using System.Diagnostics;
using NATS.Client.JetStream;

namespace SelfForcing.Hosting.Tests.Serving;

/// <summary>Checks on a stream's recorded video messages: headers, order, exactly-once, and that the bytes play.</summary>
public static class VideoRecord
{
    public static string Header(INatsJSMsg<byte[]> m, string name) =>
        m.Headers is { } h && h.TryGetValue(name, out var v) ? v.ToString() : throw new Xunit.Sdk.XunitException($"message lacks header {name}");

    /// <summary>init, then segment 0…n−1: each once, in order, with consistent headers.</summary>
    public static void AssertFmp4Sequence(string stream, IReadOnlyList<INatsJSMsg<byte[]>> msgs, int chunks)
    {
        Assert.True(msgs.Count == chunks + 1, $"{msgs.Count} video messages recorded; expected an init segment and {chunks} segments");
        Assert.Equal("init", Header(msgs[0], "Sf-Kind"));
        Assert.Equal($"{stream}-init-0", Header(msgs[0], "Nats-Msg-Id"));
        for (int i = 0; i < chunks; i++)
        {
            var m = msgs[i + 1];
            Assert.Equal("segment", Header(m, "Sf-Kind"));
            Assert.Equal(i.ToString(), Header(m, "Sf-Chunk"));
            Assert.Equal($"{stream}-segment-{i}", Header(m, "Nats-Msg-Id"));
        }
    }

    /// <summary>Frames ffprobe decodes from the concatenated payloads.</summary>
    public static int DecodedFrames(IEnumerable<byte[]> payloads)
    {
        var file = Path.Combine(Path.GetTempPath(), $"sf-{Guid.NewGuid():N}.mp4");
        try
        {
            File.WriteAllBytes(file, payloads.SelectMany(p => p).ToArray());
            var psi = new ProcessStartInfo("ffprobe", ["-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", file])
            {
                RedirectStandardOutput = true, RedirectStandardError = true,
            };
            using var p = Process.Start(psi)!;
            var output = p.StandardOutput.ReadToEnd().Trim().TrimEnd(',');
            var err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0 && string.IsNullOrEmpty(err.Trim()), $"ffprobe: {err}");
            return int.Parse(output);
        }
        finally { File.Delete(file); }
    }

    /// <summary>Frames of a tiny-model stream of <paramref name="chunks"/> chunks: 9, then 12 per chunk.</summary>
    public static int ExpectedFrames(int chunks) => 9 + 12 * (chunks - 1);
}
