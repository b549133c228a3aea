using SelfForcing.Model.Checkpoints;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SelfForcing.Model.Text;

/// <summary>
/// The UMT5 encoder stack of wan/modules/t5.py (<c>T5Encoder</c>, shared_pos=False). Parameter names equal the
/// keys of <c>models_t5_umt5-xxl-enc-bf16.pth</c>: <c>token_embedding.weight</c>, <c>blocks.{i}.…</c>,
/// <c>norm.weight</c>. Dropout is omitted (the reference runs it in eval mode).
/// Parameters are allocated uninitialised; call <see cref="LoadWeights"/> before use.
/// </summary>
public sealed class T5Encoder : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly T5Embedding token_embedding;
    private readonly nn.Module<Tensor, Tensor, Tensor>[] _blockArray;
    private readonly ModuleList<T5SelfAttention> blocks;
    private readonly T5LayerNorm norm;

    public T5EncoderConfig Config { get; }
    public Device Device { get; }
    public ScalarType DType { get; }

    public T5Encoder(T5EncoderConfig config, Device device, ScalarType dtype) : base("T5Encoder")
    {
        Config = config.Validate();
        Device = device;
        DType = dtype;
        token_embedding = new T5Embedding("token_embedding", config.Vocab, config.Dim, device, dtype);
        blocks = nn.ModuleList(Enumerable.Range(0, config.NumLayers)
            .Select(i => new T5SelfAttention(i.ToString(System.Globalization.CultureInfo.InvariantCulture), config, device, dtype))
            .ToArray());
        _blockArray = blocks.ToArray();
        norm = new T5LayerNorm("norm", config.Dim, config.Eps, device, dtype);
        RegisterComponents();
    }

    /// <summary>Layer i's relative-position bias [1, heads, L, L].</summary>
    public Tensor PositionBias(int layer, long length) => blocks[layer].PositionBias(length);

    /// <param name="ids">[B, L] int64 token ids.</param>
    /// <param name="mask">[B, L] attention mask (nonzero = real token); padded keys are masked, queries are not.</param>
    /// <returns>Hidden states [B, L, dim] (padded rows included).</returns>
    public override Tensor forward(Tensor ids, Tensor mask)
    {
        if (ids.ndim != 2) throw new ArgumentException($"ids must be [B, L], got [{string.Join(", ", ids.shape)}].");
        if (!ids.shape.SequenceEqual(mask.shape))
            throw new ArgumentException($"mask [{string.Join(", ", mask.shape)}] must match ids [{string.Join(", ", ids.shape)}].");
        using var noGrad = no_grad();
        return Trainable(ids, mask);
    }

    /// <summary>
    /// <see cref="forward"/> with autograd left as the caller has it: a text encoder being trained (the tiny world's,
    /// <c>train world-text</c>) needs the graph; inference goes through <see cref="forward"/>, which never builds one.
    /// </summary>
    public Tensor Trainable(Tensor ids, Tensor mask)
    {
        using var scope = NewDisposeScope();
        ids = ids.to(Device);
        mask = mask.to(Device);
        var x = token_embedding.forward(ids);
        foreach (var block in _blockArray) x = block.forward(x, mask);
        return norm.forward(x).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Fills every parameter with N(0, std²) drawn on the CPU generator seeded with <paramref name="seed"/> (the same on
    /// every machine): the toy encoders of the tiny models.
    /// </summary>
    public void InitializeRandom(ulong seed, double std)
    {
        using var noGrad = no_grad();
        var gen = new Generator(seed);
        foreach (var (_, p) in named_parameters())
        {
            // One parameter at a time inside a scope: temporaries must not pile up to the model's size.
            using var scope = NewDisposeScope();
            p.copy_(randn(p.shape, p.dtype, CPU, generator: gen).mul(std).to(p.device));
        }
    }

    /// <summary>
    /// The weights the reference draws for a new encoder (<c>wan/modules/t5.py</c>: <c>init_weights</c> applied to every
    /// module, the token embedding left at <c>nn.Embedding</c>'s N(0, 1)): norms at one; q N(0, 1/(dim·dim_attn)), k and v
    /// N(0, 1/dim), o N(0, 1/(heads·dim_attn)); the feed-forward's gate and fc1 N(0, 1/dim), fc2 N(0, 1/dim_ffn); the
    /// relative-position table N(0, 1/(2·buckets·heads)). Drawn in parameter order from one seeded CPU generator. Its
    /// outputs leave the final norm at unit scale, as a trained UMT5's do, so a DiT's text embedding reads them at the
    /// scale the reference's <c>init_weights</c> expects.
    /// </summary>
    public void InitializeReference(ulong seed)
    {
        using var noGrad = no_grad();
        var gen = new Generator(seed);
        var c = Config;
        foreach (var (name, p) in named_parameters())
        {
            using var scope = NewDisposeScope();
            if (name.EndsWith("norm.weight", StringComparison.Ordinal) || name.EndsWith("norm1.weight", StringComparison.Ordinal)
                || name.EndsWith("norm2.weight", StringComparison.Ordinal))
            {
                p.copy_(ones(p.shape, p.dtype));
                continue;
            }
            double std = name switch
            {
                "token_embedding.weight" => 1.0,
                _ when name.EndsWith("attn.q.weight", StringComparison.Ordinal) => Math.Pow((double)c.Dim * c.DimAttn, -0.5),
                _ when name.EndsWith("attn.k.weight", StringComparison.Ordinal) || name.EndsWith("attn.v.weight", StringComparison.Ordinal) => Math.Pow(c.Dim, -0.5),
                _ when name.EndsWith("attn.o.weight", StringComparison.Ordinal) => Math.Pow((double)c.NumHeads * c.DimAttn, -0.5),
                _ when name.EndsWith("ffn.gate.0.weight", StringComparison.Ordinal) || name.EndsWith("ffn.fc1.weight", StringComparison.Ordinal) => Math.Pow(c.Dim, -0.5),
                _ when name.EndsWith("ffn.fc2.weight", StringComparison.Ordinal) => Math.Pow(c.DimFfn, -0.5),
                _ when name.EndsWith("pos_embedding.embedding.weight", StringComparison.Ordinal) => Math.Pow(2.0 * c.NumBuckets * c.NumHeads, -0.5),
                _ => throw new InvalidOperationException($"no reference init for T5 parameter '{name}'"),
            };
            p.copy_(randn(p.shape, p.dtype, CPU, generator: gen).mul(std).to(p.device));
        }
    }

    /// <summary>Strict load of every tensor under <paramref name="prefix"/> in a safetensors file, one at a time.</summary>
    public void LoadWeights(SafeTensorsFile file, string prefix = "") =>
        LoadWeights(file.Entries.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal))
            .Select(k => new KeyValuePair<string, Tensor>(k[prefix.Length..], file.Load(k))));

    /// <summary>
    /// Strict load: copies each source tensor into the parameter of the same name (converting dtype/device),
    /// disposing the source right after when <paramref name="disposeSource"/> is set, so a lazily enumerated
    /// checkpoint never holds a second copy of the model. Missing, unexpected, duplicate or mis-shaped keys
    /// throw one error listing all of them.
    /// </summary>
    public void LoadWeights(IEnumerable<KeyValuePair<string, Tensor>> source, bool disposeSource = true)
    {
        var parameters = named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var errors = new List<string>();
        using (no_grad())
        {
            foreach (var (name, tensor) in source)
            {
                try
                {
                    if (!parameters.TryGetValue(name, out var p)) errors.Add($"unexpected key '{name}'");
                    else if (!seen.Add(name)) errors.Add($"duplicate key '{name}'");
                    else if (!p.shape.SequenceEqual(tensor.shape))
                        errors.Add($"'{name}': shape [{string.Join(", ", tensor.shape)}] != expected [{string.Join(", ", p.shape)}]");
                    else if (!tensor.is_floating_point())
                        errors.Add($"'{name}': dtype {tensor.dtype} is not a floating-point type");
                    else p.copy_(tensor);
                }
                finally
                {
                    if (disposeSource) tensor.Dispose();
                }
            }
        }
        errors.AddRange(parameters.Keys.Where(k => !seen.Contains(k)).Order(StringComparer.Ordinal).Select(k => $"missing key '{k}'"));
        if (errors.Count > 0)
            throw new InvalidDataException($"T5 encoder weights do not match the module ({errors.Count} problem(s)):\n  " +
                                           string.Join("\n  ", errors));
    }
}
