using static TorchSharp.torch;

namespace SelfForcing.World.Tests;

/// <summary>The tiny world VAE's layout, normalisation and file round trip (its training is checked through <c>train world-vae</c>).</summary>
public sealed class WorldAutoencoderTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("sf-world-vae-");

    private static Tensor Clip(long seed) => WorldLatents.Pixels(WorldVideo.Sample(WorldSettings.Default with { Frames = 5 }, seed).Frames);

    [Fact]
    public void Frames_become_16_channels_at_a_quarter_of_the_side_and_decode_back_to_pixels()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        using var vae = new WorldAutoencoder();
        vae.eval();
        var x = Clip(4);
        Assert.Equal([5, 3, 32, 32], x.shape);
        Assert.True(x.min().item<float>() >= -1 && x.max().item<float>() <= 1);
        var z = vae.Encode(x);
        Assert.Equal([5, WorldLatents.Channels, 8, 8], z.shape);
        Assert.Equal([5, 3, 32, 32], vae.Decode(z).shape);
        Assert.Equal([2, 3, 12, 20], vae.Decode(zeros(2, 16, 3, 5)).shape);
    }

    [Fact]
    public void Latent_statistics_make_each_channel_zero_mean_and_unit_spread_over_the_frames_they_were_measured_on()
    {
        using var scope = NewDisposeScope();
        manual_seed(2);
        using var vae = new WorldAutoencoder();
        vae.eval();
        using var noGrad = no_grad();
        var x = cat([Clip(1), Clip(2), Clip(3)]);
        var before = vae.Encode(x).transpose(0, 1).reshape(16, -1);
        vae.SetLatentStatistics(vae.Posterior(x).Mean);
        var after = vae.Encode(x).transpose(0, 1).reshape(16, -1);
        Assert.True(after.mean([1]).abs().max().item<float>() < 1e-4, "channel means are not zero");
        Assert.True(after.std(1).sub(1).abs().max().item<float>() < 1e-3, "channel spreads are not one");
        // Normalising moves the latents, not what they decode to.
        Assert.False(before.allclose(after, rtol: 0, atol: 1e-3));
        var roundTrip = vae.Decode(vae.Encode(x));
        Assert.True(roundTrip.allclose(vae.DecodeRaw(vae.Posterior(x).Mean), rtol: 1e-4, atol: 1e-4));
    }

    [Fact]
    public void A_saved_vae_loads_back_to_the_same_function()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        using var vae = new WorldAutoencoder();
        vae.eval();
        using var noGrad = no_grad();
        var x = Clip(7);
        vae.SetLatentStatistics(vae.Posterior(x).Mean);
        var path = Path.Combine(_dir.FullName, "vae.safetensors");
        vae.Save(path, new Dictionary<string, string> { ["seed"] = "3" });
        using var loaded = WorldAutoencoder.Load(path);
        Assert.True(loaded.Encode(x).allclose(vae.Encode(x), rtol: 1e-5, atol: 1e-6));
        Assert.True(loaded.forward(x).allclose(vae.forward(x), rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void Wrong_shapes_and_files_are_refused_naming_the_problem()
    {
        using var scope = NewDisposeScope();
        using var vae = new WorldAutoencoder();
        Assert.Contains("multiples of 4", Assert.Throws<ArgumentException>(() => vae.Encode(zeros(1, 3, 30, 32))).Message);
        Assert.Contains("[F, 3, H, W]", Assert.Throws<ArgumentException>(() => vae.Encode(zeros(3, 32, 32))).Message);
        Assert.Contains("[F, 16, h, w]", Assert.Throws<ArgumentException>(() => vae.Decode(zeros(1, 12, 8, 8))).Message);
        var path = Path.Combine(_dir.FullName, "other.safetensors");
        Model.Checkpoints.SafeTensorsWriter.Write(path, new Dictionary<string, Tensor> { ["weight"] = zeros(2) });
        var e = Assert.ThrowsAny<Exception>(() => WorldAutoencoder.Load(path));
        Assert.Contains("world VAE", e.Message);
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
