namespace SelfForcing.World;

/// <summary>A caption as token ids for the UMT5 encoder: <paramref name="Ids"/> and <paramref name="Mask"/> of length
/// text_len (pad 0 after the end), and the words that had no id of their own.</summary>
public sealed record WorldTokens(long[] Ids, long[] Mask, IReadOnlyList<string> Unknown);

/// <summary>
/// The tokenizer of the tiny world's text encoder: one id per grammar word, after UMT5's special ids (0 pad, 1 end,
/// 2 unknown). Words outside the vocabulary become the unknown id rather than an error: a typed prompt still runs (as
/// UMT5 does with words it has never seen), and <see cref="WorldTokens.Unknown"/> lets a caller warn about them.
/// The word order fixes the embedding rows of trained weights: append new words, never reorder.
/// </summary>
public static class WorldVocabulary
{
    public const long Pad = 0, End = 1, UnknownId = 2;
    private const int FirstWordId = 3;

    public static IReadOnlyList<string> Words { get; } =
    [
        "a", "moves", "and", "on", "background", CaptionGrammar.Slowly, CaptionGrammar.Quickly,
        .. Enum.GetValues<ObjectColour>().Select(WorldAttributes.Word),
        .. Enum.GetValues<ObjectShape>().Select(WorldAttributes.Word),
        .. Enum.GetValues<MotionDirection>().Select(WorldAttributes.Word),
        .. Enum.GetValues<WorldBackground>().Select(WorldAttributes.Word),
    ];

    private static readonly Dictionary<string, long> Ids = Words.Select((w, i) => (w, i)).ToDictionary(p => p.w, p => (long)(p.i + FirstWordId));

    /// <summary>Rows of the encoder's token embedding.</summary>
    public static int Size => FirstWordId + Words.Count;

    /// <summary>Tokens of the longest caption the grammar writes (two objects with speeds and a background), end included.</summary>
    public static int LongestCaption => 2 * 6 + 1 + 4 + 1;

    /// <summary>Lower-cased words of <paramref name="caption"/> (as <see cref="CaptionGrammar.Words"/> splits them), then
    /// the end id; cut to <paramref name="textLen"/> − 1 words as UMT5's tokenizer truncates.</summary>
    public static WorldTokens Tokenize(string caption, int textLen)
    {
        ArgumentNullException.ThrowIfNull(caption);
        if (textLen < 2) throw new ArgumentException($"text_len must leave room for a word and the end id, got {textLen}");
        var words = CaptionGrammar.Words(caption);
        int n = Math.Min(words.Length, textLen - 1);
        var ids = new long[textLen];
        var mask = new long[textLen];
        var unknown = new List<string>();
        for (int i = 0; i < n; i++)
        {
            if (Ids.TryGetValue(words[i], out var id)) ids[i] = id;
            else { ids[i] = UnknownId; unknown.Add(words[i]); }
            mask[i] = 1;
        }
        ids[n] = End;
        mask[n] = 1;
        return new WorldTokens(ids, mask, unknown);
    }
}
