using System.Diagnostics;
using SelfForcing.Model.Checkpoints;
using SelfForcing.Model.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Model.Tests.Text;

public class TextEncoderTests
{
    private static (TextEncoder Encoder, TextTestModels.CountingSource Source) Create(TextEncoderOptions? options = null)
    {
        var source = new TextTestModels.CountingSource(TextTestModels.RandomWeights(TextTestModels.Tiny));
        var encoder = new TextEncoder(TextTestModels.Tokenizer(), TextTestModels.Tiny, source.Get, CPU, ScalarType.Float32, options);
        return (encoder, source);
    }

    private static readonly string[] Prompts = { "A cat walks on the grass.", "A dog", "A young woman reads a book in a small café while the rain falls." };

    [Fact]
    public void Encode_matches_the_reference_post_processing_and_zeroes_padding_rows()
    {
        var (text, _) = Create();
        using var _d = text;
        using var scope = NewDisposeScope();
        var embeds = text.Encode(Prompts);
        Assert.Equal(new long[] { Prompts.Length, TextTestModels.TextLen, TextTestModels.Tiny.Dim }, embeds.shape);
        Assert.Equal(ScalarType.Float32, embeds.dtype);

        // Reference path: full text_len forward, then rows >= L_i zeroed (WanTextEncoder.forward).
        var tokens = text.Tokenizer.Tokenize(Prompts);
        using var reference = new T5Encoder(TextTestModels.Tiny, CPU, ScalarType.Float32);
        reference.LoadWeights(TextTestModels.RandomWeights(TextTestModels.Tiny));
        var expected = TextEncoder.ZeroPastLengths(reference.forward(tokens.IdsTensor(), tokens.MaskTensor()), tokens.SeqLens);
        // The reference runs all text_len positions, Encode only the real ones: other GEMM shapes, same values.
        TensorAssert.Close(expected, embeds, "trimmed encode vs the full text_len reference");

        for (int b = 0; b < Prompts.Length; b++)
        {
            int len = (int)tokens.SeqLens[b];
            Assert.InRange(len, 2, TextTestModels.TextLen);
            if (len < TextTestModels.TextLen) Assert.Equal(0f, embeds[b, len..].abs().max().item<float>());
            Assert.True(embeds[b, len - 1].abs().max().item<float>() > 0f, "the EOS row is a real row");
        }
    }

    [Fact]
    public void Batch_rows_equal_single_prompt_encodings()
    {
        var (text, _) = Create(new TextEncoderOptions(CacheCapacity: 0));
        using var _d = text;
        using var scope = NewDisposeScope();
        var batch = text.Encode(Prompts);
        for (int b = 0; b < Prompts.Length; b++)
        {
            var single = text.Encode(new[] { Prompts[b] });
            TensorAssert.Close(single[0], batch[b], $"prompt {b} in a batch vs alone");
        }
    }

    [Fact]
    public void Repeated_prompts_come_from_the_cache_without_reloading_weights()
    {
        var (text, source) = Create(new TextEncoderOptions(CacheCapacity: 4));
        using var _d = text;
        using var scope = NewDisposeScope();
        var first = text.Encode(new[] { Prompts[0], Prompts[0], Prompts[1] });
        Assert.Equal(1, source.Loads);
        Assert.Equal(2, text.CachedPrompts);
        Assert.Equal(0f, (first[0] - first[1]).abs().max().item<float>());

        text.Unload();
        Assert.False(text.IsLoaded);
        var again = text.Encode(new[] { Prompts[1], Prompts[0] });
        Assert.False(text.IsLoaded); // served from the cache: no reload
        Assert.Equal(1, source.Loads);
        Assert.Equal(2, text.CacheHits);
        Assert.Equal(0f, (again[0] - first[2]).abs().max().item<float>());
        Assert.Equal(0f, (again[1] - first[0]).abs().max().item<float>());
    }

    [Fact]
    public void Cache_evicts_least_recently_used_prompts()
    {
        var (text, source) = Create(new TextEncoderOptions(CacheCapacity: 2));
        using var _d = text;
        using var scope = NewDisposeScope();
        text.Encode(new[] { Prompts[0] });
        text.Encode(new[] { Prompts[1] });
        text.Encode(new[] { Prompts[0] });          // touch 0: 1 becomes least recent
        text.Encode(new[] { Prompts[2], Prompts[0] }); // inserts 2 and evicts 1, while 0 (cached) is in the batch
        Assert.Equal(2, text.CachedPrompts);
        long hits = text.CacheHits;
        text.Encode(new[] { Prompts[0], Prompts[2] });
        Assert.Equal(hits + 2, text.CacheHits);
        text.Encode(new[] { Prompts[1] });
        Assert.Equal(hits + 2, text.CacheHits);
        Assert.Equal(1, source.Loads);
    }

    [Fact]
    public void Low_memory_mode_unloads_after_each_encode_and_reloads_on_demand()
    {
        var (text, source) = Create(new TextEncoderOptions(CacheCapacity: 0, UnloadAfterEncode: true));
        using var _d = text;
        using var scope = NewDisposeScope();
        var a = text.Encode(new[] { Prompts[0] });
        Assert.False(text.IsLoaded);
        var b = text.Encode(new[] { Prompts[0] });
        Assert.False(text.IsLoaded);
        Assert.Equal(2, source.Loads);
        Assert.Equal(0f, (a - b).abs().max().item<float>());
    }

    [Fact]
    public void Unload_after_use_with_the_cache_reloads_only_for_new_prompts_and_gives_the_same_embeddings()
    {
        // The generate default: cache on; --unload-text-encoder adds unload-after-use.
        var (text, source) = Create(TextEncoderOptions.Default with { UnloadAfterEncode = true });
        var (resident, _) = Create();
        using var _d = text;
        using var _r = resident;
        using var scope = NewDisposeScope();
        Assert.False(text.IsLoaded);
        var a = text.Encode(new[] { Prompts[0] });
        Assert.Equal(1, source.Loads);
        Assert.False(text.IsLoaded);                // unloaded right after use
        var again = text.Encode(new[] { Prompts[0] });
        Assert.Equal(1, source.Loads);              // a repeated prompt comes from the cache: no reload
        var b = text.Encode(new[] { Prompts[1] });
        Assert.Equal(2, source.Loads);              // a new prompt loads the encoder again
        Assert.False(text.IsLoaded);
        Assert.Equal(0f, (a - again).abs().max().item<float>());
        Assert.Equal(0f, (a - resident.Encode(new[] { Prompts[0] })).abs().max().item<float>());
        Assert.Equal(0f, (b - resident.Encode(new[] { Prompts[1] })).abs().max().item<float>());
    }

    [Fact]
    public void Each_real_load_is_reported_when_it_happens_not_before()
    {
        var dir = Directory.CreateTempSubdirectory("sf-t5-");
        try
        {
            var file = Path.Combine(dir.FullName, "t5.safetensors");
            SafeTensorsWriter.Write(file, TextTestModels.RandomWeights(TextTestModels.Tiny));
            var log = new StringWriter();
            var progress = new LoadProgress(log);
            using var text = new TextEncoder(TextTestModels.Tokenizer(), TextTestModels.Tiny, () => progress.Stream("the test encoder", file), CPU,
                ScalarType.Float32, TextEncoderOptions.Default with { UnloadAfterEncode = true });
            int Loads() => log.ToString().Split('\n').Count(l => l.StartsWith($"Loading the test encoder from {file} (", StringComparison.Ordinal));
            int Done() => log.ToString().Split('\n').Count(l => l.StartsWith("  loaded the test encoder in ", StringComparison.Ordinal));
            Assert.Equal("", log.ToString()); // building the encoder object loads nothing
            text.Encode(new[] { Prompts[0] }).Dispose();
            Assert.Equal((1, 1), (Loads(), Done()));
            text.Encode(new[] { Prompts[0] }).Dispose(); // cached: no load
            Assert.Equal((1, 1), (Loads(), Done()));
            text.Encode(new[] { Prompts[1] }).Dispose(); // unloaded after use: a new prompt loads again
            Assert.Equal((2, 2), (Loads(), Done()));
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void Bad_inputs_fail_clearly()
    {
        var (text, _) = Create();
        using var _d = text;
        Assert.Throws<ArgumentException>(() => text.Encode(Array.Empty<string>()));
        Assert.Throws<ArgumentNullException>(() => text.Encode(null!));
        var ex = Assert.Throws<ArgumentNullException>(() => text.Encode(new[] { "ok", null! }));
        Assert.Contains("index 1", ex.Message);
        Assert.Equal(0, text.CachedPrompts);
    }

    [Fact]
    public void A_one_megabyte_prompt_is_truncated_to_text_len()
    {
        var (text, _) = Create();
        using var _d = text;
        using var scope = NewDisposeScope();
        var huge = string.Concat(Enumerable.Repeat("A red car drives fast on a wet road. ", 1_048_576 / 37 + 1));
        Assert.True(huge.Length >= 1_048_576);
        var sw = Stopwatch.StartNew();
        var embeds = text.Encode(new[] { huge, "A dog" });
        sw.Stop();
        Assert.Equal(new long[] { 2, TextTestModels.TextLen, TextTestModels.Tiny.Dim }, embeds.shape);
        Assert.True(embeds[0, TextTestModels.TextLen - 1].abs().max().item<float>() > 0f, "a truncated prompt fills all text_len rows");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(30), $"1 MB prompt took {sw.Elapsed}");
    }

    [Fact]
    public void Lone_surrogates_are_replaced_and_encode()
    {
        var (text, _) = Create();
        using var _d = text;
        using var scope = NewDisposeScope();
        var bad = "a cat \uD800 and \uDC00 dog \uD83D";
        var embeds = text.Encode(new[] { bad });
        Assert.Equal(new long[] { 1, TextTestModels.TextLen, TextTestModels.Tiny.Dim }, embeds.shape);
        Assert.False(embeds.isnan().any().item<bool>());
        var replaced = text.Encode(new[] { "a cat \uFFFD and \uFFFD dog \uFFFD" });
        Assert.Equal(0f, (embeds - replaced).abs().max().item<float>());
    }

    [Fact]
    public void Output_device_and_mismatched_text_len_are_checked()
    {
        var source = new TextTestModels.CountingSource(TextTestModels.RandomWeights(TextTestModels.Tiny));
        Assert.Throws<ArgumentException>(() =>
            new TextEncoder(TextTestModels.Tokenizer(textLen: 16), TextTestModels.Tiny, source.Get, CPU, ScalarType.Float32));
        var (text, _) = Create();
        using var _d = text;
        using var e = text.Encode(new[] { "A dog" }, outputDevice: CPU);
        Assert.Equal(DeviceType.CPU, e.device_type);
    }
}
