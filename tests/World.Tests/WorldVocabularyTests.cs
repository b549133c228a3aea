namespace SelfForcing.World.Tests;

/// <summary>The world tokenizer: one id per grammar word after UMT5's specials, the unknown id for other words.</summary>
public sealed class WorldVocabularyTests
{
    [Fact]
    public void A_caption_becomes_its_word_ids_then_the_end_id_then_padding()
    {
        var t = WorldVocabulary.Tokenize("a red square moves right", 8);
        long Id(string w) => 3 + WorldVocabulary.Words.ToList().IndexOf(w);
        Assert.Equal([Id("a"), Id("red"), Id("square"), Id("moves"), Id("right"), 1, 0, 0], t.Ids);
        Assert.Equal([1, 1, 1, 1, 1, 1, 0, 0], t.Mask);
        Assert.Empty(t.Unknown);
        Assert.Equal(WorldVocabulary.Words.Count, WorldVocabulary.Words.Distinct().Count());
        Assert.Equal(3 + WorldVocabulary.Words.Count, WorldVocabulary.Size);
    }

    [Fact]
    public void Unknown_words_take_the_unknown_id_and_are_reported()
    {
        var t = WorldVocabulary.Tokenize("a crimson square moves right", 8);
        Assert.Equal(WorldVocabulary.UnknownId, t.Ids[1]);
        Assert.Equal(["crimson"], t.Unknown);
    }

    [Fact]
    public void Long_captions_are_cut_before_the_end_id_as_umt5_truncates()
    {
        var t = WorldVocabulary.Tokenize("a red square moves right on a dark background", 4);
        Assert.Equal(4, t.Ids.Length);
        Assert.Equal(WorldVocabulary.End, t.Ids[3]);
        Assert.All(t.Mask, m => Assert.Equal(1, m));
    }

    [Fact]
    public void Every_grammar_caption_is_in_vocabulary_and_fits_the_longest_caption()
    {
        int longest = 0;
        for (int seed = 0; seed < 300; seed++)
        {
            var caption = CaptionGrammar.Render(WorldVideo.Sample(WorldSettings.Default, seed).Caption);
            var t = WorldVocabulary.Tokenize(caption, 64);
            Assert.Empty(t.Unknown);
            longest = Math.Max(longest, (int)t.Mask.Sum());
        }
        var maximal = "a yellow triangle moves right quickly and a white circle moves down slowly on a light background";
        Assert.Equal(WorldVocabulary.LongestCaption, (int)WorldVocabulary.Tokenize(maximal, 64).Mask.Sum());
        Assert.InRange(longest, 6, WorldVocabulary.LongestCaption);
    }
}
