using SelfForcing.Model.Vae;
using static TorchSharp.torch;

namespace SelfForcing.Model.Tests.Vae;

public class WanVaeTests
{
    private static readonly WanVaeConfig Tiny = new() { Dim = 4 };

    private static WanVae TinyVae(bool encoder = false, long seed = 7)
    {
        var vae = new WanVae(Tiny, CPU, ScalarType.Float32, includeEncoder: encoder);
        vae.InitializeRandom(seed);
        return vae;
    }

    private static Tensor Latents(long frames, long h = 4, long w = 6, long seed = 11, long batch = 1) =>
        randn(new[] { batch, 16L, frames, h, w }, generator: new Generator((ulong)seed));

    private static Tensor DecodeChunks(VaeStreamDecoder decoder, Tensor latents, params int[] chunks)
    {
        var parts = new List<Tensor>();
        long start = 0;
        foreach (int n in chunks)
        {
            parts.Add(decoder.DecodeChunk(latents.narrow(2, start, n)));
            start += n;
        }
        return cat(parts, 2);
    }

    private static double MaxAbs(Tensor a, Tensor b)
    {
        Assert.Equal(a.shape, b.shape);
        return (a - b).abs().max().item<float>();
    }

    [Theory]
    [InlineData(new[] { 3, 3, 1 })]
    [InlineData(new[] { 1, 1, 1, 1, 1, 1, 1 })]
    [InlineData(new[] { 2, 5 })]
    [InlineData(new[] { 7 })]
    public void Chunked_reference_decode_equals_whole_decode(int[] chunks)
    {
        using var vae = TinyVae();
        var latents = Latents(7);
        var whole = vae.Decode(latents);
        Assert.Equal(new long[] { 1, 3, 25, 32, 48 }, whole.shape);
        using var decoder = vae.CreateStreamDecoder();
        var frameCounts = new List<long>();
        var parts = new List<Tensor>();
        long start = 0;
        foreach (int n in chunks)
        {
            int predicted = decoder.PixelFramesFor(n);
            var p = decoder.DecodeChunk(latents.narrow(2, start, n));
            Assert.Equal(predicted, p.shape[2]);
            Assert.Equal(start == 0 ? 1 + 4 * (n - 1) : 4 * n, p.shape[2]);
            parts.Add(p);
            start += n;
        }
        TensorAssert.Close(whole, cat(parts, 2), "chunked vs whole decode");
        Assert.Equal(7, decoder.LatentFramesDecoded);
        Assert.Equal(25, decoder.PixelFramesEmitted);
    }

    [Fact]
    public void Demo_policy_emits_four_frames_per_latent_and_chunking_does_not_change_it()
    {
        using var vae = TinyVae();
        var latents = Latents(7);
        using var all = vae.CreateStreamDecoder(VaeFirstFramePolicy.DemoZeroCache);
        var whole = all.DecodeChunk(latents);
        Assert.Equal(28, whole.shape[2]);
        using var chunked = vae.CreateStreamDecoder(VaeFirstFramePolicy.DemoZeroCache);
        TensorAssert.Close(whole, DecodeChunks(chunked, latents, 3, 3, 1), "chunked vs whole decode (demo policy)");
        // The two policies really differ (first-frame handling), so neither test can pass by accident.
        Assert.True(TensorAssert.RelativeError(vae.Decode(latents), whole.narrow(2, 3, 25)) > 1e-2);
    }

    [Fact]
    public void Snapshot_and_restore_mid_stream_give_identical_frames()
    {
        using var vae = TinyVae();
        var latents = Latents(7);
        using var first = vae.CreateStreamDecoder();
        first.DecodeChunk(latents.narrow(2, 0, 3));
        using var snapshot = first.Snapshot();
        Assert.Equal(3, snapshot.LatentFramesDecoded);
        Assert.Equal(9, snapshot.PixelFramesEmitted);
        Assert.True(snapshot.Bytes > 0);
        var continued = DecodeChunks(first, latents.narrow(2, 3, 4), 3, 1);

        // A fresh decoder (e.g. after an actor restart) resumes from the snapshot without a seam.
        using var restarted = vae.CreateStreamDecoder();
        restarted.Restore(snapshot);
        Assert.Equal(3, restarted.LatentFramesDecoded);
        Assert.Equal(12, restarted.PixelFramesFor(3));
        var resumed = DecodeChunks(restarted, latents.narrow(2, 3, 4), 3, 1);
        Assert.Equal(0.0, MaxAbs(continued, resumed));

        // The snapshot is unaffected by decoding after it: restoring it again into the first decoder repeats the frames.
        first.Restore(snapshot);
        Assert.Equal(0.0, MaxAbs(continued, DecodeChunks(first, latents.narrow(2, 3, 4), 3, 1)));

        // And the stitched stream equals the whole-video decode.
        var whole = vae.Decode(latents);
        TensorAssert.Close(whole.narrow(2, 9, 16), resumed, "resumed stream vs whole decode");
    }

    [Fact]
    public void Reset_starts_a_new_video()
    {
        using var vae = TinyVae();
        var a = Latents(4, seed: 1);
        var b = Latents(4, seed: 2);
        using var decoder = vae.CreateStreamDecoder();
        decoder.DecodeChunk(a);
        Assert.Equal(16, decoder.PixelFramesFor(4));
        decoder.Reset();
        Assert.Equal(0, decoder.LatentFramesDecoded);
        Assert.Equal(0, decoder.CacheBytes);
        Assert.Equal(13, decoder.PixelFramesFor(4));
        var afterReset = decoder.DecodeChunk(b);
        TensorAssert.Close(vae.Decode(b), afterReset, "decode after Reset vs a fresh whole decode");
    }

    [Fact]
    public void Stream_rejects_a_chunk_of_another_size_until_reset()
    {
        using var vae = TinyVae();
        using var decoder = vae.CreateStreamDecoder();
        decoder.DecodeChunk(Latents(2));
        var e = Assert.Throws<ArgumentException>(() => decoder.DecodeChunk(Latents(2, h: 6)));
        Assert.Contains("Reset()", e.Message);
        Assert.Equal(2, decoder.LatentFramesDecoded);
        decoder.Reset();
        Assert.Equal(5, decoder.DecodeChunk(Latents(2, h: 6)).shape[2]);
    }

    [Fact]
    public void Bad_latent_shapes_give_clear_errors()
    {
        using var vae = TinyVae();
        using var decoder = vae.CreateStreamDecoder();
        var channels = Assert.Throws<ArgumentException>(() => vae.Decode(zeros(new long[] { 1, 8, 3, 4, 4 })));
        Assert.Contains("16 latent channels", channels.Message);
        var rank = Assert.Throws<ArgumentException>(() => decoder.DecodeChunk(zeros(new long[] { 16, 3, 4, 4 })));
        Assert.Contains("rank 4", rank.Message);
        var layout = Assert.Throws<ArgumentException>(() => vae.Decode(zeros(new long[] { 1, 3, 16, 4, 4 })));
        Assert.Contains("[B, T, C, h, w]", layout.Message);
        Assert.Throws<ArgumentException>(() => vae.Decode(zeros(new long[] { 1, 16, 3, 4, 4 }, ScalarType.Int32)));
        Assert.Equal(0, decoder.LatentFramesDecoded);
    }

    [Fact]
    public void Encode_then_decode_round_trip_shapes()
    {
        using var vae = TinyVae(encoder: true);
        var video = rand(new long[] { 1, 3, 9, 16, 24 }, generator: new Generator(5)) * 2 - 1;
        var latents = vae.Encode(video);
        Assert.Equal(new long[] { 1, 16, 3, 2, 3 }, latents.shape);
        Assert.Equal(ScalarType.Float32, latents.dtype);
        Assert.False(latents.isnan().any().item<bool>());
        var pixels = vae.Decode(latents);
        Assert.Equal(video.shape, pixels.shape);
        Assert.True(pixels.abs().max().item<float>() <= 1f);
        // The reference drops frames beyond the last full group of 4.
        Assert.Equal(2, vae.Encode(video.narrow(2, 0, 7)).shape[2]);
        // Causal: the first latent depends only on the first frame.
        var other = video.clone();
        other.narrow(2, 1, 8).fill_(0.5);
        TensorAssert.Close(latents.narrow(2, 0, 1), vae.Encode(other).narrow(2, 0, 1), "first latent of a video with other later frames");
        Assert.Throws<ArgumentException>(() => vae.Encode(zeros(new long[] { 1, 3, 5, 12, 16 })));
        Assert.Throws<ArgumentException>(() => vae.Encode(zeros(new long[] { 1, 4, 5, 16, 16 })));
    }

    [Fact]
    public void Decoder_only_vae_cannot_encode()
    {
        using var vae = TinyVae();
        Assert.Throws<InvalidOperationException>(() => vae.Encode(zeros(new long[] { 1, 3, 1, 16, 16 })));
    }

    [Fact]
    public void Strict_loading_lists_missing_unexpected_and_mis_shaped_keys()
    {
        using var source = TinyVae(encoder: true, seed: 3);
        var full = source.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        Assert.Contains("decoder.upsamples.0.residual.0.gamma", full.Keys);
        Assert.Contains("encoder.downsamples.0.residual.2.weight", full.Keys);

        // A decoder-only VAE takes the full checkpoint (the demo's filter) and gets identical decoder weights.
        using var decoderOnly = new WanVae(Tiny, includeEncoder: false);
        decoderOnly.LoadStateDict(full);
        var latents = Latents(2);
        Assert.Equal(0.0, MaxAbs(source.Decode(latents), decoderOnly.Decode(latents)));

        using var target = new WanVae(Tiny, includeEncoder: true);
        var broken = new Dictionary<string, Tensor>(full);
        broken.Remove("decoder.head.2.bias");
        broken["decoder.extra.weight"] = zeros(new long[] { 1 });
        broken["conv2.weight"] = zeros(new long[] { 16, 16, 1, 1 });
        var e = Assert.Throws<ArgumentException>(() => target.LoadStateDict(broken));
        Assert.Contains("missing 1 key(s): decoder.head.2.bias", e.Message);
        Assert.Contains("unexpected 1 key(s): decoder.extra.weight", e.Message);
        Assert.Contains("conv2.weight", e.Message);
    }

    [Fact]
    public void Real_config_has_the_reference_state_dict()
    {
        using var vae = new WanVae(WanVaeConfig.Wan21, META, ScalarType.Float32);
        var parameters = vae.named_parameters().ToList();
        Assert.Equal(194, parameters.Count);
        Assert.Equal(126_892_531L, parameters.Sum(p => p.parameter.NumberOfElements));
        Assert.Equal(108, parameters.Count(p => p.name.StartsWith("decoder.") || p.name.StartsWith("conv2.")));
        var shapes = parameters.ToDictionary(p => p.name, p => p.parameter.shape);
        Assert.Equal(new long[] { 96, 3, 3, 3, 3 }, shapes["encoder.conv1.weight"]);
        Assert.Equal(new long[] { 384, 1, 1 }, shapes["decoder.middle.1.norm.gamma"]);
        Assert.Equal(new long[] { 1152, 384, 1, 1 }, shapes["decoder.middle.1.to_qkv.weight"]);
        Assert.Equal(new long[] { 768, 384, 3, 1, 1 }, shapes["decoder.upsamples.7.time_conv.weight"]);
        Assert.Equal(new long[] { 384, 384, 3, 1, 1 }, shapes["encoder.downsamples.8.time_conv.weight"]);
        Assert.Equal(new long[] { 96, 192, 3, 3 }, shapes["decoder.upsamples.11.resample.1.weight"]);
        Assert.Equal(new long[] { 384, 192, 1, 1, 1 }, shapes["decoder.upsamples.4.shortcut.weight"]);
        Assert.Equal(new long[] { 3, 96, 3, 3, 3 }, shapes["decoder.head.2.weight"]);
        Assert.Equal(new long[] { 32, 32, 1, 1, 1 }, shapes["conv1.weight"]);
        // Registration order as in the reference: encoder, conv1, conv2, decoder.
        Assert.Equal("encoder.conv1.weight", parameters[0].name);
        Assert.Equal("conv1.weight", parameters[84].name);
        Assert.Equal("conv2.weight", parameters[86].name);
        Assert.Equal("decoder.conv1.weight", parameters[88].name);
        Assert.Equal("decoder.head.2.bias", parameters[193].name);
    }

    [Fact]
    public void Rgb_bytes_follow_the_demo_conversion()
    {
        var video = tensor(new float[] { -1f, 0f, 1f, 2f, -3f, 0.5f }).view(new long[] { 1, 3, 1, 1, 2 });
        var bytes = VaeFrames.ToRgbBytes(video);
        Assert.Equal(new long[] { 1, 1, 2, 3 }, bytes.shape);
        Assert.Equal(ScalarType.Byte, bytes.dtype);
        var v = bytes.data<byte>().ToArray();
        // pixel 0 = (R -1, G 1, B -3) ; pixel 1 = (R 0, G 2, B 0.5); truncating cast like the demo (127.5 → 127)
        Assert.Equal(new byte[] { 0, 255, 0, 127, 255, 191 }, v);
        Assert.Throws<ArgumentException>(() => VaeFrames.ToRgbBytes(zeros(new long[] { 1, 4, 1, 2, 2 })));
    }

    [Fact]
    public void Bfloat16_decode_runs_in_the_callers_dtype_and_stays_close_to_float32()
    {
        using var vae32 = TinyVae();
        using var vae16 = new WanVae(Tiny, CPU, ScalarType.BFloat16, includeEncoder: false);
        vae16.LoadStateDict(vae32.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter));
        Assert.All(vae16.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
        var latents = Latents(4);
        var reference = vae32.Decode(latents);
        using var decoder = vae16.CreateStreamDecoder();
        var chunked = DecodeChunks(decoder, latents, 3, 1);
        Assert.Equal(ScalarType.Float32, chunked.dtype);
        double err = MaxAbs(reference, chunked);
        Assert.True(err < 0.25, $"bf16 vs fp32 max abs {err}");
        Assert.True(err > 0, "bf16 decode must actually run in bf16");
    }

    [Fact]
    public void Benchmark_reports_one_timing_per_chunk()
    {
        var result = VaeBenchmark.Run(Tiny, new VaeBenchmark.Options { LatentHeight = 2, LatentWidth = 3, Chunks = 3 });
        Assert.Equal(3, result.Chunks.Count);
        Assert.Equal(new long[] { 9, 12, 12 }, result.Chunks.Select(c => c.PixelFrames));
        Assert.All(result.Chunks, c => Assert.True(c.CacheBytes > 0));
        Assert.True(result.PeakWorkingSetBytes > 0);
    }

    [Fact]
    public void Batched_decode_equals_decoding_each_video_alone()
    {
        using var vae = TinyVae();
        var latents = Latents(3, batch: 2);
        var both = vae.Decode(latents);
        // Batch 2 and batch 1 may run different conv kernels (oneDNN's blocking depends on the batch): equal up to
        // float32 summation order, not bit for bit.
        TensorAssert.Close(vae.Decode(latents.narrow(0, 0, 1)), both.narrow(0, 0, 1), "video 0 of a batch vs alone");
        TensorAssert.Close(vae.Decode(latents.narrow(0, 1, 1)), both.narrow(0, 1, 1), "video 1 of a batch vs alone");
    }
}
