using SelfForcing.Actors.Engines;
using static TorchSharp.torch;

namespace SelfForcing.World.Tests;

/// <summary>The world's engines for the actor pipeline: the "world" decoder and the grammar-vocabulary UMT5 encoder.</summary>
public sealed class WorldEngineTests
{
    [Fact]
    public void The_world_decoder_gives_back_the_enlarged_frames_chunk_by_chunk()
    {
        var v = WorldVideo.Sample(WorldSettings.Default, 5);
        using var latents = WorldLatents.Encode(v.Frames).unsqueeze(0); // [1, 21, 16, 16, 16]
        using var engine = new WorldDecodeEngine(CPU, displayScale: 2);
        var state = engine.Initial(WorldDecodeEngine.Name);
        var decoded = new List<byte>();
        for (int chunk = 0; chunk < 7; chunk++)
        {
            var (pixels, next) = engine.Decode(WorldDecodeEngine.Name, state, latents.narrow(1, 3 * chunk, 3));
            using (pixels)
            {
                Assert.Equal([1, 3, 3, 64, 64], pixels.shape);
                decoded.AddRange(WorldLatents.ToRgb(pixels[0]).Data);
            }
            state.Dispose();
            state = next;
        }
        Assert.Equal(7, state.ChunksDecoded);
        Assert.Equal(v.Frames.Upscale(2).Data, decoded.ToArray());
        Assert.Throws<ArgumentException>(() => engine.Initial("vae"));
        Assert.Throws<ArgumentException>(() => engine.Decode(WorldDecodeEngine.Name, state, zeros([1, 3, 12, 16, 16])));
    }

    [Fact]
    public void The_world_text_encoder_is_reproducible_and_tells_captions_apart()
    {
        var config = WorldTextEncodeEngine.ConfigFor(textLen: WorldVocabulary.LongestCaption, dim: 32);
        using var a = new WorldTextEncodeEngine(config, CPU, seed: 3);
        using var b = new WorldTextEncodeEngine(config, CPU, seed: 3);
        using var red = a.Encode("a red square moves right");
        using var again = b.Encode("a red square moves right");
        using var blue = a.Encode("a blue square moves right");
        Assert.Equal([1, WorldVocabulary.LongestCaption, 32], red.shape);
        Assert.True(red.eq(again).all().item<bool>());
        Assert.True(red.sub(blue).abs().max().item<float>() > 1e-3f * red.abs().max().item<float>());
        Assert.Equal(["crimson"], a.Tokenize("a crimson square moves right").Unknown);
        Assert.Throws<ArgumentException>(() => new WorldTextEncodeEngine(config with { Vocab = 259 }, CPU, seed: 3));
    }

    [Fact]
    public void The_world_text_encoder_writes_each_word_at_unit_scale_as_a_real_UMT5_does()
    {
        // At ~0.05 (every tensor N(0, 0.1²), norms included) the DiT's text embedding, initialised for UMT5's scale,
        // barely passes the words on: a teacher trained 1,200 steps on such captions read none of its colour words.
        var caption = "a red square moves right quickly on a dark background";
        int words = caption.Split(' ').Length;
        using var text = new WorldTextEncodeEngine(WorldTextEncodeEngine.ConfigFor(20, 32), CPU, seed: 0);
        using var embedding = text.Encode(caption);
        var perWordRms = embedding[0].narrow(0, 0, words).square().mean([1]).sqrt().data<float>().ToArray();
        Assert.All(perWordRms, rms => Assert.InRange(rms, 0.5f, 2f));
        using var shape = text.Encode(caption.Replace("square", "circle"));
        using var direction = text.Encode(caption.Replace("right", "left"));
        // A changed word changes its own position by about as much as the word itself weighs.
        Assert.True(shape.sub(embedding)[0][2].norm().item<float>() > 0.5f * embedding[0][2].norm().item<float>());
        Assert.True(direction.sub(embedding)[0][4].norm().item<float>() > 0.5f * embedding[0][4].norm().item<float>());
    }
}
