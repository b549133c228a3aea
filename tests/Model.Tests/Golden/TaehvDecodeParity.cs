using SelfForcing.Model.Taehv;
using static TorchSharp.torch;

namespace SelfForcing.Model.Tests.Golden;

/// <summary>TAEHV decode_video (untrimmed, [0, 1]) and demo.py's overlapping streaming decode ([−1, 1], trimmed).</summary>
public sealed class TaehvDecodeParity : IParityCheck
{
    public string Kind => "taehv_decode";

    public void Run(GoldenCase golden)
    {
        using var scope = NewDisposeScope();
        using var decoder = new TaehvDecoder(TaehvConfig.FromJson(golden.Config));
        decoder.LoadStateDict(golden.GetAll("weights."));
        var latent = golden.Get("input.latent");
        using var noGrad = no_grad();
        if (golden.Has("expected.frames")) golden.AssertMatches("expected.frames", decoder.DecodeVideo(latent));
        if (golden.Has("expected.demo_stream_frames"))
        {
            var chunks = golden.Config.GetProperty("chunks").EnumerateArray().Select(c => c.GetInt32()).ToArray();
            golden.AssertMatches("expected.demo_stream_frames", DemoStream(decoder, latent, chunks));
        }
    }

    /// <summary>demo.py: each chunk after the first is decoded from scratch together with the previous 3 latents, whose frames are dropped.</summary>
    public static Tensor DemoStream(TaehvDecoder decoder, Tensor latent, int[] chunks)
    {
        var outputs = new List<Tensor>();
        Tensor? cache = null;
        int start = 0, scale = decoder.Config.TimeScale;
        for (int b = 0; b < chunks.Length; b++)
        {
            var cur = latent.narrow(1, start, chunks[b]);
            start += chunks[b];
            Tensor input;
            if (cache is null) { cache = cur; input = cur; }
            else { input = cat([cache, cur], 1); cache = input.narrow(1, input.shape[1] - 3, 3); }
            var pixels = decoder.DecodeVideo(input) * 2 - 1;
            int drop = b == 0 ? decoder.Config.FramesToTrim : (int)(input.shape[1] - cur.shape[1]) * scale;
            outputs.Add(pixels.narrow(1, drop, pixels.shape[1] - drop));
        }
        return cat(outputs, 1);
    }
}
