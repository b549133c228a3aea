using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SelfForcing.Model.Dit;

/// <summary>
/// The layers and forward pass shared by <see cref="WanModel"/> and <see cref="CausalWanModel"/>; both load the
/// same state dict (reference keys: <c>patch_embedding.*</c>, <c>text_embedding.{0,2}.*</c>,
/// <c>time_embedding.{0,2}.*</c>, <c>time_projection.1.*</c>, <c>blocks.N.*</c>, <c>head.*</c>).
/// </summary>
public abstract class WanTransformer : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006
    public readonly Conv3d patch_embedding;
    public readonly Sequential text_embedding;
    public readonly Sequential time_embedding;
    public readonly Sequential time_projection;
    public readonly ModuleList<WanAttentionBlock> blocks;
    public readonly Head head;
#pragma warning restore IDE1006

    private readonly RotaryEmbedding _rope;

    public WanConfig Config { get; }

    /// <summary>
    /// Activation checkpointing per transformer block (reference <c>enable_gradient_checkpointing</c>): with gradient on,
    /// a call keeps only each block's inputs and recomputes the block in backward — cache-free calls, and KV-cached calls
    /// (the training rollout's exit steps) without writing the cache twice (<see cref="CheckpointedCachedBlock"/>). Values
    /// and gradients are unchanged up to float rounding; inference (no gradient) is not affected.
    /// </summary>
    public bool GradientCheckpointing { get; set; }

    private long _recomputedBlocks;

    /// <summary>
    /// Block forwards that activation checkpointing has recomputed in backward so far (cache-free and KV-cached calls):
    /// shows that checkpointing took effect, since its values equal the plain forward's.
    /// </summary>
    public long RecomputedBlocks => Interlocked.Read(ref _recomputedBlocks);

    internal void CountRecomputedBlock() => Interlocked.Increment(ref _recomputedBlocks);

    /// <summary>Optional hook receiving intermediate outputs by reference module name (debugging and parity traces).</summary>
    public Action<string, Tensor>? Trace { get; set; }

    protected WanTransformer(string name, WanConfig config, Device? device, ScalarType dtype, WeightInit init) : base(name)
    {
        Config = config.Validate();
        var c = config;
        var ps = c.PatchSize;
        patch_embedding = nn.Conv3d(c.InDim, c.Dim, (ps[0], ps[1], ps[2]), stride: (ps[0], ps[1], ps[2]), device: device, dtype: dtype);
        text_embedding = nn.Sequential(
            ("0", DitLayers.Linear(c.TextDim, c.Dim, device, dtype, init)),
            ("1", nn.GELU(GELU.Approximate.tanh)),
            ("2", DitLayers.Linear(c.Dim, c.Dim, device, dtype, init)));
        time_embedding = nn.Sequential(
            ("0", DitLayers.Linear(c.FreqDim, c.Dim, device, dtype, init)),
            ("1", nn.SiLU()),
            ("2", DitLayers.Linear(c.Dim, c.Dim, device, dtype, init)));
        time_projection = nn.Sequential(
            ("0", nn.SiLU()),
            ("1", DitLayers.Linear(c.Dim, 6L * c.Dim, device, dtype, init)));
        blocks = new ModuleList<WanAttentionBlock>(Enumerable.Range(0, c.NumLayers).Select(_ => new WanAttentionBlock(c, device, dtype, init)).ToArray());
        head = new Head(c, device, dtype, init);
        _rope = new RotaryEmbedding(c.HeadDim);
        RegisterComponents();
        if (device is null || device.type == DeviceType.CPU) OneDnnConvolutionGuard.Apply(this);
    }

    public override Tensor forward(Tensor x) => throw new NotSupportedException("call Forward with timesteps and context");

    /// <summary>Embeds text [B, ≤text_len, text_dim], zero-padding to text_len as the reference does.</summary>
    public Tensor EmbedText(Tensor context, long[]? contextLens = null)
    {
        using var scope = NewDisposeScope();
        if (context.dim() != 3 || context.shape[2] != Config.TextDim)
            throw new ArgumentException($"context must be [B, text_len, {Config.TextDim}], got [{string.Join(", ", context.shape)}]");
        if (context.shape[1] > Config.TextLen)
            throw new ArgumentException($"context has {context.shape[1]} rows, more than text_len {Config.TextLen}");
        var ctx = context;
        if (contextLens is not null)
        {
            if (contextLens.Length != context.shape[0]) throw new ArgumentException("context_lens must have one entry per sample");
            var rows = arange(context.shape[1], device: context.device).unsqueeze(0);
            var keep = rows < tensor(contextLens, device: context.device).unsqueeze(1);
            ctx = ctx * keep.unsqueeze(-1).to(ctx.dtype);
        }
        if (ctx.shape[1] < Config.TextLen)
            ctx = nn.functional.pad(ctx, [0, 0, 0, Config.TextLen - ctx.shape[1]]);
        return text_embedding.forward(ctx).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Core forward. x [B, in_dim, F, H, W]; t [B] (one timestep per sample) or [B, F] (one per latent frame);
    /// with a cache, self-attention runs against the stream's cached keys starting at token <paramref name="currentStart"/>.
    /// Returns the flow prediction [B, out_dim, F, H, W]. <paramref name="selfAttentionMask"/> [L, L] (cache-free calls
    /// only) limits which tokens each token attends to.
    /// </summary>
    protected Tensor Run(Tensor x, Tensor t, Tensor? context, long[]? contextLens, KvCache? cache, long currentStart,
        Tensor? selfAttentionMask = null)
    {
        using var scope = NewDisposeScope();
        var c = Config;
        if (x.dim() != 5 || x.shape[1] != c.InDim)
            throw new ArgumentException($"latents must be [B, {c.InDim}, F, H, W], got [{string.Join(", ", x.shape)}]");
        var ps = c.PatchSize;
        long batch = x.shape[0];
        if (x.shape[2] % ps[0] != 0 || x.shape[3] % ps[1] != 0 || x.shape[4] % ps[2] != 0)
            throw new ArgumentException($"latent size [{x.shape[2]}, {x.shape[3]}, {x.shape[4]}] is not divisible by patch size [{string.Join(", ", ps)}]");
        long f = x.shape[2] / ps[0], h = x.shape[3] / ps[1], w = x.shape[4] / ps[2];
        long tokens = f * h * w;

        var patches = patch_embedding.forward(x);
        Trace?.Invoke("patch_embedding", patches);
        var hidden = patches.flatten(2).transpose(1, 2); // [B, L, D], frame-major token order

        long groups;
        if (t.dim() == 1 && t.shape[0] == batch) groups = 1;
        else if (t.dim() == 2 && t.shape[0] == batch && t.shape[1] == f) groups = f;
        else throw new ArgumentException($"timesteps must be [B] or [B, F] = [{batch}, {f}], got [{string.Join(", ", t.shape)}]");
        var sinusoid = SinusoidalEmbedding.Embed(c.FreqDim, t.flatten()).to(hidden.dtype);
        var e = time_embedding.forward(sinusoid);
        Trace?.Invoke("time_embedding", e);
        var e0 = time_projection.forward(e);
        Trace?.Invoke("time_projection", e0);
        e0 = e0.view(batch, groups, 6, c.Dim);
        e = e.view(batch, groups, c.Dim);

        Tensor? ctx = null;
        // With gradient on, the text is embedded even when the cross-attention cache is filled (see WanT2VCrossAttention).
        if (cache is null || !cache.CrossAttentionReady(0) || (context is not null && is_grad_enabled()))
        {
            if (context is null) throw new ArgumentNullException(nameof(context));
            if (context.shape[0] != batch) throw new ArgumentException($"context batch {context.shape[0]} != latent batch {batch}");
            ctx = EmbedText(context, contextLens);
            Trace?.Invoke("text_embedding", ctx);
        }

        long startFrame = 0;
        if (cache is not null)
        {
            if (cache.Batch != batch) throw new ArgumentException($"cache was allocated for batch {cache.Batch}, call has batch {batch}");
            if (cache.TokensPerFrame != h * w) throw new ArgumentException($"cache was allocated for {cache.TokensPerFrame} tokens per frame, call has {h * w}");
            startFrame = currentStart / (h * w) - cache.RopeFrameShift;
            if (cache.Rolling && startFrame + f > cache.RopeFrameLimit)
            {
                // Past the RoPE table: re-base so the oldest frame the window can hold sits at position 0 (sink frames go
                // negative). Only between chunks' first calls; the chunk's later calls and retries reuse the shift.
                long shift = startFrame - cache.CapacityTokens / cache.TokensPerFrame;
                cache.ShiftRope(shift, k => _rope.ShiftFrames(k, shift));
                startFrame -= shift;
            }
            cache.BeginCall(currentStart, tokens);
        }
        var (cos, sin) = _rope.Tables(startFrame, f, h, w, hidden.device);

        if (cache is not null && selfAttentionMask is not null)
            throw new ArgumentException("a masked call attends over its own tokens; it cannot also use the KV cache");
        bool checkpoint = GradientCheckpointing && is_grad_enabled();
        for (int i = 0; i < blocks.Count; i++)
        {
            hidden = !checkpoint ? blocks[i].Forward(hidden, e0, ctx, cos, sin, cache, i, currentStart, selfAttentionMask)
                : cache is null ? CheckpointedBlock.Run(this, blocks[i], hidden, e0, ctx, cos, sin, selfAttentionMask)
                : CarriesGradient(blocks[i], hidden, e0, ctx)
                    ? CheckpointedCachedBlock.Run(this, blocks[i], hidden, e0, ctx, cos, sin, cache, i, currentStart)
                    : blocks[i].Forward(hidden, e0, ctx, cos, sin, cache, i, currentStart, selfAttentionMask);
            Trace?.Invoke($"blocks.{i}", hidden);
        }

        var output = head.Forward(hidden, e); // [B, G, L/G, patch·out]
        Trace?.Invoke("head", groups == 1 ? output.view(batch, tokens, -1) : output);
        return Unpatchify(output, f, h, w).MoveToOuterDisposeScope();
    }

    // Whether a cached block call has anything to differentiate (as the plain path decides by its keys' requires_grad): a
    // frozen block on constant inputs takes the plain cached path, which records no gradient-carrying write.
    private static bool CarriesGradient(WanAttentionBlock block, Tensor x, Tensor e0, Tensor? ctx) =>
        x.requires_grad || e0.requires_grad || ctx is { requires_grad: true } || block.parameters().Any(p => p.requires_grad);

    // Head outputs are ordered (pt, ph, pw, c) with c fastest; fold them back into [B, C, F, H, W].
    private Tensor Unpatchify(Tensor output, long f, long h, long w)
    {
        var ps = Config.PatchSize;
        long b = output.shape[0], co = Config.OutDim;
        return output.reshape(b, f, h, w, ps[0], ps[1], ps[2], co)
            .permute(0, 7, 1, 4, 2, 5, 3, 6)
            .reshape(b, co, f * ps[0], h * ps[1], w * ps[2]);
    }

    /// <summary>Fills every parameter with small random values: the tiny no-weights demo model and benchmarks.</summary>
    public void InitializeRandom(long seed, double std = 0.02)
    {
        using var noGrad = no_grad();
        var gen = new Generator((ulong)seed);
        foreach (var (_, p) in named_parameters())
        {
            // One parameter at a time inside a scope: temporaries must not pile up to the model's size.
            using var scope = NewDisposeScope();
            p.copy_(randn(p.shape, ScalarType.Float32, CPU, generator: gen).mul_(std).to(p.dtype, p.device));
        }
    }
}
