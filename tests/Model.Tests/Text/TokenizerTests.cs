using SelfForcing.Model.Text;

namespace SelfForcing.Model.Tests.Text;

public class TokenizerTests
{
    [Fact]
    public void Long_prompts_keep_text_len_minus_one_content_ids_then_eos()
    {
        var tok = TextTestModels.Tokenizer(textLen: 12);
        var prompt = "A young woman reads a book in a small cafe while the rain falls on the window.";
        var content = tok.EncodeCleaned(tok.Clean(prompt));
        Assert.True(content.Count > 11);
        var t = tok.Tokenize(new[] { prompt });
        Assert.Equal(content.Take(11).Select(i => (long)i).Append(tok.EosId), t.Ids[0]);
        Assert.All(t.Mask[0], m => Assert.Equal(1L, m));
        Assert.Equal(12L, t.SeqLens[0]);
    }

    [Fact]
    public void Short_prompts_are_right_padded_with_mask_zero()
    {
        var tok = TextTestModels.Tokenizer(textLen: 12);
        var t = tok.Tokenize(new[] { "A dog", "" });
        var content = tok.EncodeCleaned("A dog");
        Assert.Equal(content.Count + 1, t.SeqLens[0]);
        Assert.Equal(tok.EosId, t.Ids[0][content.Count]);
        Assert.All(t.Ids[0].Skip(content.Count + 1), id => Assert.Equal(tok.PadId, id));
        Assert.All(t.Mask[0].Skip(content.Count + 1), m => Assert.Equal(0L, m));
        Assert.Equal(1L, t.SeqLens[1]); // empty prompt: EOS only
        Assert.Equal(tok.EosId, t.Ids[1][0]);
    }

    [Fact]
    public void Adjacent_unknown_characters_become_one_unk()
    {
        var tok = TextTestModels.Tokenizer();
        // CJK/emoji are not in the fixture vocabulary (see the tokenizer sidecar): a run of them is one <unk>.
        var one = tok.EncodeCleaned("猫");
        var run = tok.EncodeCleaned("猫猫🐱猫");
        Assert.Equal(one, run);
        Assert.Contains(tok.UnknownId, run);
    }

    [Fact]
    public void Null_and_empty_batches_are_rejected()
    {
        var tok = TextTestModels.Tokenizer();
        Assert.Throws<ArgumentException>(() => tok.Tokenize(Array.Empty<string>()));
        var ex = Assert.Throws<ArgumentNullException>(() => tok.Tokenize(new[] { "a", "b", null! }));
        Assert.Contains("index 2", ex.Message);
    }

    [Fact]
    public void Models_without_bos_load_and_keep_their_special_ids()
    {
        var bytes = File.ReadAllBytes(Path.Combine(Golden.GoldenDirectory.Path, "tokenizer.model"));
        var (bos, eos) = SentencePieceModelPatch.ReadSpecialIds(bytes);
        Assert.True(bos < 0, "the fixture model is a T5-style model without BOS");
        var patched = SentencePieceModelPatch.EnsureBosId(bytes);
        Assert.Equal((eos, eos), SentencePieceModelPatch.ReadSpecialIds(patched));
        Assert.Same(patched, SentencePieceModelPatch.EnsureBosId(patched));
    }
}
