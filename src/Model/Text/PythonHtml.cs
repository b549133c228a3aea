using System.Globalization;
using System.Numerics;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace SelfForcing.Model.Text;

/// <summary>
/// Python's <c>html.unescape</c>, reproduced exactly (including the HTML5 entities that may omit the trailing
/// semicolon and the longest-prefix rule), because the reference runs it on every prompt and .NET's
/// <c>WebUtility.HtmlDecode</c> knows only the HTML4 entities. The tables in PythonHtmlEntities.json were
/// exported from CPython 3.11's <c>html</c> module.
/// </summary>
public static partial class PythonHtml
{
    private static readonly Lazy<Tables> Data = new(LoadTables);

    private sealed record Tables(Dictionary<string, string> Html5, Dictionary<int, string> InvalidCharrefs, HashSet<int> InvalidCodepoints);

    // CPython: re.compile(r'&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)')
    [GeneratedRegex(@"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)", RegexOptions.CultureInvariant)]
    private static partial Regex CharRef();

    public static string Unescape(string s)
    {
        if (!s.Contains('&', StringComparison.Ordinal)) return s;
        return CharRef().Replace(s, m => Replace(m.Groups[1].Value));
    }

    private static string Replace(string s)
    {
        var t = Data.Value;
        if (s[0] == '#')
        {
            bool hex = s.Length > 1 && (s[1] == 'x' || s[1] == 'X');
            var digits = s[(hex ? 2 : 1)..].TrimEnd(';');
            var num = hex ? BigInteger.Parse("0" + digits, NumberStyles.HexNumber, CultureInfo.InvariantCulture)
                          : BigInteger.Parse(digits, CultureInfo.InvariantCulture);
            if (num <= int.MaxValue && t.InvalidCharrefs.TryGetValue((int)num, out var fixedUp)) return fixedUp;
            if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) return "\uFFFD";
            int cp = (int)num;
            if (t.InvalidCodepoints.Contains(cp)) return "";
            return char.ConvertFromUtf32(cp);
        }
        if (t.Html5.TryGetValue(s, out var v)) return v;
        for (int x = s.Length - 1; x > 1; x--)
            if (t.Html5.TryGetValue(s[..x], out var pv)) return pv + s[x..];
        return "&" + s;
    }

    private static Tables LoadTables()
    {
        var asm = typeof(PythonHtml).Assembly;
        var name = asm.GetManifestResourceNames().Single(n => n.EndsWith("PythonHtmlEntities.json", StringComparison.Ordinal));
        using var stream = asm.GetManifestResourceStream(name)!;
        using var doc = JsonDocument.Parse(stream);
        var root = doc.RootElement;
        var html5 = root.GetProperty("html5").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal);
        var invalid = root.GetProperty("invalid_charrefs").EnumerateObject()
            .ToDictionary(p => int.Parse(p.Name, CultureInfo.InvariantCulture), p => p.Value.GetString()!);
        var codepoints = root.GetProperty("invalid_codepoints").EnumerateArray().Select(e => e.GetInt32()).ToHashSet();
        return new Tables(html5, invalid, codepoints);
    }
}
