using SelfForcing.Model.Vae;
using static TorchSharp.torch;

namespace SelfForcing.Model.Tests.Golden;

/// <summary>
/// Kind <c>wan_vae_decode</c>: whole decode and chunked streaming decode (reference policy) against
/// <c>expected.video</c>; the demo's zero-cache streaming decoder against <c>expected.video_demo_stream</c>.
/// Fixture tensors use the generator layout [B, F, C, H, W].
/// </summary>
public sealed class WanVaeDecodeParity : IParityCheck
{
    public string Kind => "wan_vae_decode";

    public void Run(GoldenCase golden)
    {
        using var scope = NewDisposeScope();
        var config = WanVaeConfig.FromJson(golden.Config);
        var weights = golden.GetAll("weights.");
        bool hasEncoder = weights.Keys.Any(k => k.StartsWith("encoder.", StringComparison.Ordinal));
        using var vae = new WanVae(config, CPU, ScalarType.Float32, includeEncoder: hasEncoder);
        vae.LoadStateDict(weights);
        foreach (var w in weights.Values) w.Dispose();

        var latents = golden.Get("input.latent").permute(0, 2, 1, 3, 4);
        int frames = (int)latents.shape[2];
        var chunks = golden.Config.TryGetProperty("chunks", out var c)
            ? c.EnumerateArray().Select(e => e.GetInt32()).ToArray()
            : Enumerable.Repeat(3, (frames + 2) / 3).Select((n, i) => Math.Min(n, frames - 3 * i)).ToArray();
        Assert.Equal(frames, chunks.Sum());
        int checkedTensors = 0;

        if (golden.Has("expected.video"))
        {
            golden.AssertMatches("expected.video", ToFramesFirst(vae.Decode(latents)));
            golden.AssertMatches("expected.video", ToFramesFirst(DecodeInChunks(vae, latents, chunks, VaeFirstFramePolicy.Reference)));
            checkedTensors++;
        }
        if (golden.Has("expected.video_demo_stream"))
        {
            golden.AssertMatches("expected.video_demo_stream",
                ToFramesFirst(DecodeInChunks(vae, latents, chunks, VaeFirstFramePolicy.DemoZeroCache)));
            checkedTensors++;
        }
        Assert.True(checkedTensors > 0, $"{golden.Name}: no expected.video / expected.video_demo_stream tensor to check");
    }

    private static Tensor DecodeInChunks(WanVae vae, Tensor latents, int[] chunks, VaeFirstFramePolicy policy)
    {
        using var decoder = vae.CreateStreamDecoder(policy);
        var parts = new List<Tensor>();
        long start = 0;
        foreach (int n in chunks)
        {
            int expectedFrames = decoder.PixelFramesFor(n);
            var pixels = decoder.DecodeChunk(latents.narrow(2, start, n));
            Assert.Equal(expectedFrames, (int)pixels.shape[2]);
            parts.Add(pixels);
            start += n;
        }
        return cat(parts, 2);
    }

    private static Tensor ToFramesFirst(Tensor video) => video.permute(0, 2, 1, 3, 4);
}
