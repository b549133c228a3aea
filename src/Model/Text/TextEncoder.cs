using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Model.Text;

/// <summary>
/// Prompts → text embeddings as Self-Forcing's <c>WanTextEncoder</c> returns them: [B, text_len, dim] in the
/// encoder dtype, rows at positions ≥ L_i (content tokens + EOS) exactly zero, because the DiT attends to all
/// text_len rows without a mask. Runs on its own device (may differ from the DiT's); a bounded LRU cache skips
/// re-encoding repeated prompts; <see cref="Unload"/> drops the weights (low-memory mode), reloaded on demand
/// from the weight source. Encode calls are serialised.
/// </summary>
public sealed class TextEncoder : IDisposable
{
    private readonly object _gate = new();
    private readonly Func<IEnumerable<KeyValuePair<string, Tensor>>>? _weightSource;
    private readonly PromptEmbeddingCache _cache;
    private T5Encoder? _encoder;
    private bool _disposed;

    public UmT5Tokenizer Tokenizer { get; }
    public T5EncoderConfig Config { get; }
    public Device Device { get; }
    public ScalarType DType { get; }
    public TextEncoderOptions Options { get; }
    public int TextLen => Tokenizer.TextLen;

    /// <param name="weightSource">
    /// Yields the checkpoint's (name, tensor) pairs, preferably lazily; each tensor is copied into the module and
    /// disposed at once, so only one copy of the 11 GB encoder exists. Called again after <see cref="Unload"/>.
    /// </param>
    public TextEncoder(UmT5Tokenizer tokenizer, T5EncoderConfig config, Func<IEnumerable<KeyValuePair<string, Tensor>>> weightSource,
        Device device, ScalarType dtype = ScalarType.BFloat16, TextEncoderOptions? options = null)
        : this(tokenizer, config, device, dtype, options)
    {
        _weightSource = weightSource ?? throw new ArgumentNullException(nameof(weightSource));
    }

    /// <summary>Wraps an already loaded encoder (ownership passes to this object). It cannot be reloaded after Unload.</summary>
    public TextEncoder(UmT5Tokenizer tokenizer, T5Encoder encoder, TextEncoderOptions? options = null)
        : this(tokenizer, (encoder ?? throw new ArgumentNullException(nameof(encoder))).Config, encoder.Device, encoder.DType, options)
    {
        _encoder = encoder;
    }

    private TextEncoder(UmT5Tokenizer tokenizer, T5EncoderConfig config, Device device, ScalarType dtype, TextEncoderOptions? options)
    {
        Tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        Config = (config ?? throw new ArgumentNullException(nameof(config))).Validate();
        if (tokenizer.TextLen != config.TextLen)
            throw new ArgumentException($"Tokenizer text_len {tokenizer.TextLen} differs from the encoder config's text_len {config.TextLen}.");
        Device = device ?? throw new ArgumentNullException(nameof(device));
        DType = dtype;
        Options = options ?? TextEncoderOptions.Default;
        _cache = new PromptEmbeddingCache(Options.CacheCapacity);
    }

    public bool IsLoaded => _encoder != null;
    public int CachedPrompts { get { lock (_gate) return _cache.Count; } }
    public long CacheHits { get { lock (_gate) return _cache.Hits; } }

    /// <summary>Builds the encoder on <see cref="Device"/> and loads the weights, if not loaded yet.</summary>
    public void Load()
    {
        lock (_gate) EnsureLoaded();
    }

    /// <summary>Drops the encoder weights (the cache stays). The next Encode reloads them from the weight source.</summary>
    public void Unload()
    {
        lock (_gate)
        {
            _encoder?.Dispose();
            _encoder = null;
        }
    }

    public void ClearCache()
    {
        lock (_gate) _cache.Clear();
    }

    /// <summary>
    /// Embeddings [B, text_len, dim] on <see cref="Device"/> (or <paramref name="outputDevice"/>), dtype
    /// <see cref="DType"/>, rows ≥ L_i zero. The caller owns (disposes) the result.
    /// </summary>
    /// <exception cref="ArgumentException">The list is empty.</exception>
    /// <exception cref="ArgumentNullException">The list or one of its prompts is null (the message names the index).</exception>
    public Tensor Encode(IReadOnlyList<string> prompts, Device? outputDevice = null)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        if (prompts.Count == 0) throw new ArgumentException("At least one prompt is required.", nameof(prompts));
        for (int i = 0; i < prompts.Count; i++)
            if (prompts[i] is null) throw new ArgumentNullException(nameof(prompts), $"Prompt at index {i} is null.");

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            try
            {
                using var scope = NewDisposeScope();
                var rows = new Tensor[prompts.Count];
                var missing = new List<string>();
                for (int i = 0; i < prompts.Count; i++)
                    if (!_cache.TryGet(prompts[i], out rows[i]) && !missing.Contains(prompts[i], StringComparer.Ordinal))
                        missing.Add(prompts[i]);

                var fresh = missing.Count > 0 ? EncodeRows(missing) : Array.Empty<Tensor>();
                for (int i = 0; i < prompts.Count; i++)
                    rows[i] ??= fresh[missing.FindIndex(p => string.Equals(p, prompts[i], StringComparison.Ordinal))];

                // Assemble before caching: inserting may evict (dispose) rows this batch still uses.
                var batch = stack(rows.Select(PadRows).ToArray());
                for (int j = 0; j < missing.Count; j++) _cache.Put(missing[j], fresh[j]);
                if (outputDevice != null) batch = batch.to(outputDevice);
                return batch.MoveToOuterDisposeScope();
            }
            finally
            {
                if (Options.UnloadAfterEncode && _encoder != null && _weightSource != null)
                {
                    _encoder.Dispose();
                    _encoder = null;
                }
            }
        }
    }

    /// <summary>
    /// Encoder + WanTextEncoder post-processing on given ids/mask [B, L]: hidden states with rows ≥ mask.sum(1)
    /// zeroed, [B, L, dim]. Runs only the first max(L_i) positions; the keys past L_i are masked and the position
    /// bias is relative, so this equals running all L positions (spec §7) and saves the padded work.
    /// </summary>
    public static Tensor EncodeTokens(T5Encoder encoder, Tensor ids, Tensor mask)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        if (ids.ndim != 2 || !ids.shape.SequenceEqual(mask.shape))
            throw new ArgumentException($"ids [{string.Join(", ", ids.shape)}] and mask [{string.Join(", ", mask.shape)}] must both be [B, L].");
        using var scope = NewDisposeScope();
        var lens = mask.ne(0).sum(1).cpu().data<long>().ToArray();
        long maxLen = Math.Max(1, lens.Max());
        long fullLen = ids.shape[1];
        var hidden = encoder.forward(ids[.., ..(int)maxLen], mask[.., ..(int)maxLen]);
        if (maxLen < fullLen) hidden = nn.functional.pad(hidden, new long[] { 0, 0, 0, fullLen - maxLen });
        return ZeroPastLengths(hidden, lens).MoveToOuterDisposeScope();
    }

    /// <summary>WanTextEncoder's post-processing: <c>x[b, L_b:, :] = 0</c> for hidden [B, L, dim].</summary>
    public static Tensor ZeroPastLengths(Tensor hidden, IReadOnlyList<long> seqLens)
    {
        if (hidden.ndim != 3 || hidden.shape[0] != seqLens.Count)
            throw new ArgumentException($"hidden must be [B={seqLens.Count}, L, dim], got [{string.Join(", ", hidden.shape)}].");
        using var scope = NewDisposeScope();
        var positions = arange(hidden.shape[1], device: hidden.device).unsqueeze(0);
        var lens = tensor(seqLens.ToArray(), dtype: ScalarType.Int64, device: hidden.device).unsqueeze(1);
        var keep = positions.lt(lens).unsqueeze(-1);
        return hidden.masked_fill(keep.logical_not(), 0.0).MoveToOuterDisposeScope();
    }

    /// <summary>Real rows [L_i, dim] of each prompt (in the current dispose scope).</summary>
    private Tensor[] EncodeRows(IReadOnlyList<string> prompts)
    {
        var encoder = EnsureLoaded();
        var tokens = Tokenizer.Tokenize(prompts);
        long maxLen = tokens.SeqLens.Max();
        var ids = tokens.IdsTensor()[.., ..(int)maxLen];
        var mask = tokens.MaskTensor()[.., ..(int)maxLen];
        var hidden = encoder.forward(ids, mask);
        return Enumerable.Range(0, prompts.Count).Select(i => hidden[i, ..(int)tokens.SeqLens[i]]).ToArray();
    }

    private Tensor PadRows(Tensor rows) =>
        rows.shape[0] == TextLen ? rows : nn.functional.pad(rows, new long[] { 0, 0, 0, TextLen - rows.shape[0] });

    private T5Encoder EnsureLoaded()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_encoder != null) return _encoder;
        if (_weightSource == null)
            throw new InvalidOperationException("The text encoder was unloaded and has no weight source to reload from.");
        var encoder = new T5Encoder(Config, Device, DType);
        try
        {
            encoder.LoadWeights(_weightSource(), disposeSource: true);
        }
        catch
        {
            encoder.Dispose();
            throw;
        }
        return _encoder = encoder;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _encoder?.Dispose();
            _encoder = null;
            _cache.Dispose();
        }
    }
}
