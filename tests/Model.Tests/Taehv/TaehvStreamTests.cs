using SelfForcing.Model.Taehv;
using static TorchSharp.torch;

namespace SelfForcing.Model.Tests.Taehv;

public class TaehvStreamTests
{
    private static TaehvDecoder Tiny()
    {
        var d = new TaehvDecoder(TaehvConfig.Wan21 with { NF = [16, 8, 8, 8] });
        using var noGrad = no_grad();
        var g = new TorchSharp.torch.Generator(5);
        foreach (var (_, p) in d.named_parameters()) p.copy_(randn(p.shape, generator: g) * 0.2);
        return d;
    }

    [Fact]
    public void Streaming_equals_whole_video_and_snapshots_resume_exactly()
    {
        using var decoder = Tiny();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var latent = randn([1, 7, 16, 4, 4]);
        var whole = decoder.DecodeVideo(latent) * 2 - 1;
        whole = whole.narrow(1, 3, whole.shape[1] - 3);

        using var stream = new TaehvStreamDecoder(decoder);
        var a = stream.DecodeChunk(latent.narrow(1, 0, 3));
        Assert.Equal(9, a.shape[1]);
        using var snap = stream.Snapshot();
        var b = stream.DecodeChunk(latent.narrow(1, 3, 3));
        var c = stream.DecodeChunk(latent.narrow(1, 6, 1));
        var streamed = cat([a, b, c], 1);
        Assert.Equal(whole.shape, streamed.shape);
        Assert.True((streamed - whole).abs().max().item<float>() < 1e-5f, "chunked decode differs from the whole video");

        using var resumed = new TaehvStreamDecoder(decoder);
        resumed.Restore(snap);
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
