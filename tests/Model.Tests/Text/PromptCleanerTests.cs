using SelfForcing.Model.Text;

namespace SelfForcing.Model.Tests.Text;

/// <summary>Behaviours stated by the reference spec (text-encoder.md §2) and by ftfy/Python's documented rules.</summary>
public class PromptCleanerTests
{
    [Theory]
    [InlineData("&amp;lt;b&amp;gt;", "<b>")]              // html.unescape twice
    [InlineData("  a \t b\n\n c  ", "a b c")]             // whitespace collapse + strip
    [InlineData("it\u2019s \u201Cok\u201D", "it's \"ok\"")] // quote uncurling
    [InlineData("\uFF21\uFF22\uFF0C\u3000x", "AB, x")]     // full width and ideographic space
    [InlineData("\uFB01sh", "fish")]                      // ligature
    [InlineData("a\u0000b\u200Bc\uFEFFd", "ab\u200Bcd")]  // control chars removed (ZWSP is not one)
    [InlineData("\u001b[31mred\u001b[0m", "red")]         // terminal escapes
    [InlineData("e\u0301", "\u00E9")]                     // NFC
    [InlineData("a\u0085b", "a\u2026b")]                  // C1 control read as windows-1252 before line breaks
    [InlineData("x &copy y &#8217; z", "x \u00A9 y ' z")] // semicolon-less entity; entity then uncurled by ftfy
    public void Whitespace_mode_cleans_like_the_reference(string input, string expected) =>
        Assert.Equal(expected, PromptCleaner.Clean(input));

    [Fact]
    public void Ftfy_stops_unescaping_html_once_a_segment_contains_a_tag()
    {
        // ftfy leaves "&#8217;" alone in a line with '<'; the later html.unescape gives a curly quote that stays.
        Assert.Equal("<b> &#8217;", PromptCleaner.FixText("<b> &#8217;"));
        Assert.Equal("'\n<b>\n&amp;", PromptCleaner.FixText("&#8217;\n<b>\n&amp;"));
        Assert.Equal("<b> \u2019", PromptCleaner.Clean("<b> &#8217;"));
    }

    [Fact]
    public void Lone_surrogates_become_replacement_characters()
    {
        Assert.Equal("a\uFFFDb\uFFFD\uD83D\uDE00", PromptCleaner.Clean("a\uD800b\uDC00\uD83D\uDE00"));
    }

    [Fact]
    public void Unknown_modes_are_rejected() =>
        Assert.Throws<ArgumentException>(() => PromptCleaner.Clean("x", "nope"));
}
