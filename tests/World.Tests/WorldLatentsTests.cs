using static TorchSharp.torch;

namespace SelfForcing.World.Tests;

/// <summary>The fixed pixel ↔ latent map: the DiT's layout, the documented channel order, and an exact round trip.</summary>
public sealed class WorldLatentsTests
{
    [Fact]
    public void World_bytes_round_trip_exactly_through_the_latents()
    {
        for (int seed = 0; seed < 10; seed++)
        {
            var v = WorldVideo.Sample(WorldSettings.Default, seed);
            using var latents = WorldLatents.Encode(v.Frames);
            Assert.Equal([21, 16, 16, 16], latents.shape);
            using var pixels = WorldLatents.Decode(latents);
            Assert.Equal(v.Frames.Data, WorldLatents.ToRgb(pixels).Data);
        }
    }

    [Fact]
    public void Any_bytes_round_trip_exactly_at_any_even_size()
    {
        var rng = new Random(3);
        var data = new byte[5 * 6 * 10 * 3];
        rng.NextBytes(data);
        var frames = RgbFrames.FromBytes(data, 10, 6);
        using var latents = WorldLatents.Encode(frames);
        Assert.Equal([5, 16, 3, 5], latents.shape);
        Assert.Equal(data, WorldLatents.ToRgb(WorldLatents.Decode(latents)).Data);
    }

    [Fact]
    public void Channel_4c_plus_2dy_plus_dx_holds_colour_c_at_offset_dy_dx_and_the_spare_channels_are_zero()
    {
        var rng = new Random(5);
        var data = new byte[2 * 8 * 8 * 3];
        rng.NextBytes(data);
        var frames = RgbFrames.FromBytes(data, 8, 8);
        using var latents = WorldLatents.Encode(frames);
        var values = latents.data<float>().ToArray(); // [2, 16, 4, 4]
        for (int f = 0; f < 2; f++)
            for (int ch = 0; ch < 16; ch++)
                for (int i = 0; i < 4; i++)
                    for (int j = 0; j < 4; j++)
                    {
                        float got = values[((f * 16 + ch) * 4 + i) * 4 + j];
                        if (ch >= 12) { Assert.Equal(0f, got); continue; }
                        int c = ch / 4, dy = ch % 4 / 2, dx = ch % 2;
                        byte b = data[frames.Offset(f, 2 * j + dx, 2 * i + dy) + c];
                        Assert.Equal(b / 127.5f - 1f, got, 1e-6f);
                    }
    }

    [Fact]
    public void Decoding_ignores_the_spare_channels_and_clamps_out_of_range_pixels()
    {
        var v = WorldVideo.Sample(WorldSettings.Default, 11);
        using var latents = WorldLatents.Encode(v.Frames);
        using var noisy = latents.clone();
        noisy.narrow(1, 12, 4).copy_(randn([21, 4, 16, 16], generator: new TorchSharp.torch.Generator(1)));
        Assert.Equal(v.Frames.Data, WorldLatents.ToRgb(WorldLatents.Decode(noisy)).Data);
        using var big = latents.mul(3);
        var rgb = WorldLatents.ToRgb(WorldLatents.Decode(big));
        Assert.Contains(rgb.Data, b => b == 0 || b == 255);
    }

    [Fact]
    public void Wrong_shapes_are_refused()
    {
        Assert.Throws<ArgumentException>(() => WorldLatents.Encode(zeros([2, 3, 7, 8])));
        Assert.Throws<ArgumentException>(() => WorldLatents.Decode(zeros([2, 12, 4, 4])));
    }
}
