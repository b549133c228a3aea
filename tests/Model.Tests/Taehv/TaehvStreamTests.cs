using SelfForcing.Model.Taehv;
using static TorchSharp.torch;

namespace SelfForcing.Model.Tests.Taehv;

public class TaehvStreamTests
{
    /// <summary>Random weights scaled by 1/√fan-in, so activations stay O(1) through the ~30 convs (randn·0.2 reached 1e5).</summary>
    private static TaehvDecoder Tiny()
    {
        var d = new TaehvDecoder(TaehvConfig.Wan21 with { NF = [16, 8, 8, 8] });
        using var noGrad = no_grad();
        var g = new Generator(5);
        foreach (var (_, p) in d.named_parameters())
        {
            using var scope = NewDisposeScope();
            long fanIn = p.shape.Skip(1).Aggregate(1L, (a, b) => a * b);
            p.copy_(p.dim() == 1 ? randn(p.shape, generator: g) * 0.02 : randn(p.shape, generator: g) / Math.Sqrt(fanIn));
        }
        return d;
    }

    [Fact]
    public void Streaming_equals_whole_video_and_snapshots_resume_exactly()
    {
        using var decoder = Tiny();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var latent = randn([1, 7, 16, 4, 4], generator: new Generator(17));
        var whole = decoder.DecodeVideo(latent) * 2 - 1;
        double magnitude = whole.abs().max().item<float>();
        Assert.InRange(magnitude, 0.05, 100); // not vanished, not blown up: the relative comparison below means something
        whole = whole.narrow(1, 3, whole.shape[1] - 3);

        using var stream = new TaehvStreamDecoder(decoder);
        var a = stream.DecodeChunk(latent.narrow(1, 0, 3));
        Assert.Equal(9, a.shape[1]);
        using var snap = stream.Snapshot();
        var b = stream.DecodeChunk(latent.narrow(1, 3, 3));
        var c = stream.DecodeChunk(latent.narrow(1, 6, 1));
        var streamed = cat([a, b, c], 1);
        Assert.Equal(whole.shape, streamed.shape);
        // Whole video and chunks run the convs at different batch sizes (28 vs 12/12/4 frames): libtorch may pick
        // different kernels (NNPACK from 16 up when oneDNN is off), so equal up to float32 summation order.
        TensorAssert.Close(whole, streamed, "chunked decode vs the whole video");

        using var resumed = new TaehvStreamDecoder(decoder);
        resumed.Restore(snap);
        // Same path, same shapes: a resumed stream repeats the frames bit for bit.
        Assert.Equal(0f, (resumed.DecodeChunk(latent.narrow(1, 3, 3)) - b).abs().max().item<float>());
    }

    [Fact]
    public void Bad_shapes_are_named()
    {
        using var decoder = Tiny();
        using var stream = new TaehvStreamDecoder(decoder);
        var ex = Assert.Throws<ArgumentException>(() => stream.DecodeChunk(zeros([1, 16, 3, 4, 4])));
        Assert.Contains("[N, T, 16, h, w]", ex.Message);
        Assert.Equal(0, stream.ChunksDecoded);
    }
}
