using Microsoft.ML.Tokenizers;

namespace SelfForcing.Model.Text;

/// <summary>
/// The reference's <c>HuggingfaceTokenizer(name='google/umt5-xxl', seq_len=text_len, clean='whitespace')</c> as
/// WanTextEncoder calls it (<c>add_special_tokens=True</c>, <c>padding='max_length'</c>, <c>truncation=True</c>,
/// mask returned): prompt cleaning, SentencePiece Unigram ids (Microsoft.ML.Tokenizers reading the real
/// <c>spiece.model</c>/<c>tokenizer.model</c>), truncation to text_len-1 content ids, EOS, right padding with pad id.
/// Thread-safe: the underlying tokenizer is immutable.
/// </summary>
public sealed class UmT5Tokenizer
{
    private readonly SentencePieceTokenizer _sp;

    public int TextLen { get; }
    public string CleanMode { get; }
    public int PadId { get; }
    public int EosId { get; }
    public int UnknownId => _sp.UnknownId;

    private UmT5Tokenizer(SentencePieceTokenizer sp, int textLen, string clean, int padId, int eosId)
    {
        if (textLen < 2) throw new ArgumentOutOfRangeException(nameof(textLen), textLen, "text_len must leave room for content and EOS.");
        _ = PromptCleaner.Clean("", clean); // validates the mode early
        _sp = sp;
        TextLen = textLen;
        CleanMode = clean;
        PadId = padId;
        EosId = eosId;
    }

    /// <summary>Loads a SentencePiece model file (umt5-xxl's <c>spiece.model</c>, or a fixture's tokenizer.model).</summary>
    public static UmT5Tokenizer FromModelFile(string path, int textLen = 512, string clean = "whitespace", int padId = 0, int eosId = 1)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"SentencePiece model not found: {path}", path);
        using var stream = File.OpenRead(path);
        return FromModel(stream, textLen, clean, padId, eosId);
    }

    /// <summary>
    /// Loads from a Hugging Face tokenizer folder (e.g. <c>Wan2.1-T2V-1.3B/google/umt5-xxl/</c>), which ships the
    /// SentencePiece model as <c>spiece.model</c> (or <c>tokenizer.model</c>).
    /// </summary>
    public static UmT5Tokenizer FromDirectory(string directory, int textLen = 512, string clean = "whitespace", int padId = 0, int eosId = 1)
    {
        foreach (var name in new[] { "spiece.model", "tokenizer.model" })
        {
            var path = Path.Combine(directory, name);
            if (File.Exists(path)) return FromModelFile(path, textLen, clean, padId, eosId);
        }
        throw new FileNotFoundException($"No spiece.model or tokenizer.model in '{directory}'.");
    }

    public static UmT5Tokenizer FromModel(Stream model, int textLen = 512, string clean = "whitespace", int padId = 0, int eosId = 1)
    {
        // T5 has no BOS; EOS is appended here (after truncation), not by the library.
        using var buffer = new MemoryStream();
        model.CopyTo(buffer);
        using var patched = new MemoryStream(SentencePieceModelPatch.EnsureBosId(buffer.ToArray()));
        var sp = SentencePieceTokenizer.Create(patched, addBeginningOfSentence: false, addEndOfSentence: false);
        return new UmT5Tokenizer(sp, textLen, clean, padId, eosId);
    }

    /// <summary>The cleaned prompt, exactly what the reference passes to the Hugging Face tokenizer.</summary>
    public string Clean(string prompt) => PromptCleaner.Clean(prompt, CleanMode);

    /// <summary>SentencePiece ids of an already-cleaned text (no EOS, untruncated).</summary>
    public IReadOnlyList<int> EncodeCleaned(string cleaned)
    {
        var ids = _sp.EncodeToIds(cleaned, addBeginningOfSentence: false, addEndOfSentence: false);
        return FuseUnknowns(ids);
    }

    /// <summary>
    /// SentencePiece (and HF's Unigram with fuse_unk, as T5 uses) emits one &lt;unk&gt; for a run of adjacent
    /// unknown pieces; Microsoft.ML.Tokenizers emits one per piece, so adjacent unknowns are merged here.
    /// </summary>
    private IReadOnlyList<int> FuseUnknowns(IReadOnlyList<int> ids)
    {
        int unk = _sp.UnknownId;
        List<int>? fused = null;
        for (int i = 0; i < ids.Count; i++)
        {
            if (i > 0 && ids[i] == unk && ids[i - 1] == unk)
            {
                fused ??= ids.Take(i).ToList();
                continue;
            }
            fused?.Add(ids[i]);
        }
        return fused ?? ids;
    }

    public TokenizedPrompts Tokenize(IReadOnlyList<string> prompts)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        if (prompts.Count == 0) throw new ArgumentException("At least one prompt is required.", nameof(prompts));
        var ids = new long[prompts.Count][];
        var mask = new long[prompts.Count][];
        for (int i = 0; i < prompts.Count; i++)
        {
            if (prompts[i] is null) throw new ArgumentNullException(nameof(prompts), $"Prompt at index {i} is null.");
            (ids[i], mask[i]) = TokenizeOne(prompts[i]);
        }
        return new TokenizedPrompts(ids, mask);
    }

    private (long[] Ids, long[] Mask) TokenizeOne(string prompt)
    {
        var content = EncodeCleaned(Clean(prompt));
        int n = Math.Min(content.Count, TextLen - 1); // special tokens are reserved before truncation
        var ids = new long[TextLen];
        var mask = new long[TextLen];
        for (int j = 0; j < n; j++) { ids[j] = content[j]; mask[j] = 1; }
        ids[n] = EosId;
        mask[n] = 1;
        for (int j = n + 1; j < TextLen; j++) ids[j] = PadId;
        return (ids, mask);
    }
}
