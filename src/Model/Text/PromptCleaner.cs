using System.Text;
using System.Text.RegularExpressions;

namespace SelfForcing.Model.Text;

/// <summary>
/// The reference's <c>clean='whitespace'</c> prompt cleaning (wan/modules/tokenizers.py):
/// <c>whitespace_clean(basic_clean(text))</c> = ftfy.fix_text, html.unescape twice, strip, collapse \s+ to one
/// space, strip. ftfy is reproduced for its default fixers in ftfy 6's order (see <see cref="FixText"/>);
/// mojibake repair (fix_encoding) is deliberately omitted: it only rewrites text that is already broken and
/// needs ftfy's whole statistical model. Also supports 'lower' (same, lower-cased) and 'canonicalize'.
/// </summary>
public static partial class PromptCleaner
{
    /// <summary>ftfy's <c>max_decode_length</c>: longer lines are fixed in slices of this many characters.</summary>
    private const int MaxDecodeLength = 1_000_000;

    private static readonly Dictionary<char, string> Ligatures =
        "ĲĳŉǄǅǆǇǈǉǊǋǌǱǲǳﬀﬁﬂﬃﬄﬅﬆ".ToDictionary(c => c, c => c.ToString().Normalize(NormalizationForm.FormKC));

    private static readonly Dictionary<char, string> WidthMap = BuildWidthMap();

    private static Dictionary<char, string> BuildWidthMap()
    {
        var map = new Dictionary<char, string> { ['\u3000'] = " " };
        for (int i = 0xFF01; i < 0xFFF0; i++)
        {
            var c = ((char)i).ToString();
            var alt = c.Normalize(NormalizationForm.FormKC);
            if (alt != c) map[(char)i] = alt;
        }
        return map;
    }

    [GeneratedRegex("\u001b\\[((?:\\d|;)*)([a-zA-Z])", RegexOptions.CultureInvariant)]
    private static partial Regex AnsiEscape();

    public static string Clean(string text, string mode = "whitespace")
    {
        ArgumentNullException.ThrowIfNull(text);
        switch (mode)
        {
            case "whitespace":
                return WhitespaceClean(BasicClean(text));
            case "lower":
                return WhitespaceClean(BasicClean(text)).ToLowerInvariant();
            case "canonicalize":
                // Reference: canonicalize(basic_clean(text)): '_' -> ' ', drop ASCII punctuation, lower, collapse.
                var t = BasicClean(text).Replace('_', ' ');
                var sb = new StringBuilder(t.Length);
                foreach (var c in t) if (!(c < 128 && char.IsPunctuation(c) || c < 128 && char.IsSymbol(c))) sb.Append(c);
                return WhitespaceClean(sb.ToString().ToLowerInvariant());
            default:
                throw new ArgumentException($"Unknown clean mode '{mode}' (expected whitespace, lower or canonicalize).", nameof(mode));
        }
    }

    /// <summary><c>basic_clean</c>: ftfy.fix_text, html.unescape twice, strip.</summary>
    public static string BasicClean(string text) => PyStrip(PythonHtml.Unescape(PythonHtml.Unescape(FixText(text))));

    /// <summary><c>whitespace_clean</c>: every run of Unicode White_Space becomes one space, then strip.</summary>
    public static string WhitespaceClean(string text)
    {
        var sb = new StringBuilder(text.Length);
        bool inSpace = false;
        foreach (var c in text)
        {
            if (IsPyWhitespace(c)) { if (!inSpace) sb.Append(' '); inSpace = true; }
            else { sb.Append(c); inSpace = false; }
        }
        return PyStrip(sb.ToString());
    }

    /// <summary>
    /// ftfy 6 <c>fix_text</c> with default settings minus fix_encoding: the text is fixed line by line (each
    /// segment ends after '\n'), every segment repeatedly until it stops changing. As in ftfy, once a segment
    /// contains '&lt;' HTML unescaping is switched off for it and all later segments ("auto" mode).
    /// </summary>
    public static string FixText(string text)
    {
        var outp = new StringBuilder(text.Length);
        bool unescapeHtml = true;
        int pos = 0;
        while (pos < text.Length)
        {
            int brk = text.IndexOf('\n', pos) + 1;
            if (brk == 0) brk = text.Length;
            if (brk - pos > MaxDecodeLength) brk = pos + MaxDecodeLength;
            var segment = text[pos..brk];
            if (unescapeHtml && segment.Contains('<', StringComparison.Ordinal)) unescapeHtml = false;
            while (true)
            {
                var fixedSegment = FixOneStep(segment, unescapeHtml);
                if (fixedSegment == segment) break;
                segment = fixedSegment;
            }
            outp.Append(segment);
            pos = brk;
        }
        return outp.ToString();
    }

    private static string FixOneStep(string text, bool unescapeHtml)
    {
        if (unescapeHtml) text = PythonHtml.Unescape(text);
        text = AnsiEscape().Replace(text, "");
        text = MapChars(text, FixC1Control);
        text = MapChars(text, c => Ligatures.TryGetValue(c, out var s) ? s : null);
        text = MapChars(text, c => WidthMap.TryGetValue(c, out var s) ? s : null);
        text = MapChars(text, UncurlQuote);
        text = text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n')
            .Replace('\u2028', '\n').Replace('\u2029', '\n').Replace('\u0085', '\n');
        text = FixSurrogates(text);
        text = MapChars(text, c => IsFtfyControl(c) ? "" : null);
        return text.Normalize(NormalizationForm.FormC);
    }

    private static string MapChars(string text, Func<char, string?> map)
    {
        StringBuilder? sb = null;
        for (int i = 0; i < text.Length; i++)
        {
            var r = map(text[i]);
            if (r == null) { sb?.Append(text[i]); continue; }
            sb ??= new StringBuilder(text.Length).Append(text, 0, i);
            sb.Append(r);
        }
        return sb?.ToString() ?? text;
    }

    /// <summary>C1 controls U+0080..U+009F re-read as "sloppy" windows-1252 (undefined bytes map to themselves).</summary>
    private static string? FixC1Control(char c)
    {
        if (c < '\u0080' || c > '\u009F') return null;
        return (int)c switch
        {
            0x80 => "\u20AC", 0x82 => "\u201A", 0x83 => "\u0192", 0x84 => "\u201E", 0x85 => "\u2026", 0x86 => "\u2020",
            0x87 => "\u2021", 0x88 => "\u02C6", 0x89 => "\u2030", 0x8A => "\u0160", 0x8B => "\u2039", 0x8C => "\u0152",
            0x8E => "\u017D", 0x91 => "\u2018", 0x92 => "\u2019", 0x93 => "\u201C", 0x94 => "\u201D", 0x95 => "\u2022",
            0x96 => "\u2013", 0x97 => "\u2014", 0x98 => "\u02DC", 0x99 => "\u2122", 0x9A => "\u0161", 0x9B => "\u203A",
            0x9C => "\u0153", 0x9E => "\u017E", 0x9F => "\u0178",
            _ => null,
        };
    }

    private static string? UncurlQuote(char c) => c switch
    {
        '\u02BC' or (>= '\u2018' and <= '\u201B') => "'",
        >= '\u201C' and <= '\u201F' => "\"",
        _ => null,
    };

    /// <summary>
    /// ftfy.fix_surrogates: a .NET string keeps valid pairs as one code point, so only lone surrogates remain
    /// and become U+FFFD, as ftfy does. (The Hugging Face tokenizer could not encode them at all.)
    /// </summary>
    public static string FixSurrogates(string text)
    {
        StringBuilder? sb = null;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            bool lone = false;
            if (char.IsHighSurrogate(c))
            {
                if (i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                {
                    sb?.Append(c).Append(text[i + 1]);
                    i++;
                    continue;
                }
                lone = true;
            }
            else if (char.IsLowSurrogate(c)) lone = true;
            if (lone) { sb ??= new StringBuilder(text.Length).Append(text, 0, i); sb.Append('\uFFFD'); }
            else sb?.Append(c);
        }
        return sb?.ToString() ?? text;
    }

    private static bool IsFtfyControl(char c) =>
        c <= '\u0008' || c == '\u000B' || (c >= '\u000E' && c <= '\u001F') || c == '\u007F' ||
        (c >= '\u206A' && c <= '\u206F') || c == '\uFEFF' || (c >= '\uFFF9' && c <= '\uFFFC');

    /// <summary>Unicode White_Space (what the reference's <c>regex</c> \s matches) plus Python's str.isspace extras.</summary>
    private static bool IsPyWhitespace(char c) =>
        (c >= '\u0009' && c <= '\u000D') || (c >= '\u001C' && c <= '\u0020') || c == '\u0085' || c == '\u00A0' ||
        c == '\u1680' || (c >= '\u2000' && c <= '\u200A') || c == '\u2028' || c == '\u2029' || c == '\u202F' ||
        c == '\u205F' || c == '\u3000';

    private static string PyStrip(string s)
    {
        int a = 0, b = s.Length;
        while (a < b && IsPyWhitespace(s[a])) a++;
        while (b > a && IsPyWhitespace(s[b - 1])) b--;
        return a == 0 && b == s.Length ? s : s[a..b];
    }
}
