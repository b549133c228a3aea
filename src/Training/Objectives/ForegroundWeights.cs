using static TorchSharp.torch;

namespace SelfForcing.Training.Objectives;

/// <summary>
/// Per-position loss weights that favour what differs from a clip's background: 1 on the background, up to
/// 1 + <c>boost</c> on objects. In the tiny world an object covers a few latent cells of 64 and its outline a few values
/// of each, so a plain mean spends nearly all of the loss on flat background the model already draws; shape is what
/// is left. The backgrounds are found in the data itself: each frame's per-channel spatial median is its background
/// colour, and k-means over those sorts frames into the world's few backgrounds; a background's template is then the
/// per-position median over its frames (objects sit anywhere, so the median is the bare background, borders included,
/// where convolution padding makes the latents of even an empty frame vary).
/// </summary>
public sealed class ForegroundWeights : IDisposable
{
    private readonly Tensor _centroids; // [K, C]
    private readonly Tensor _templates; // [K, C, H, W]
    private readonly double _scale;

    public double Boost { get; }
    public int[] FramesPerBackground { get; }

    /// <param name="latents">[N, F, C, H, W] training latents (a sample of up to <paramref name="maxFrames"/> frames is used).</param>
    public ForegroundWeights(Tensor latents, double boost, int backgrounds = 2, int maxFrames = 4096)
    {
        if (!(boost > 0)) throw new ArgumentException($"the foreground boost must be positive, got {boost}");
        if (latents.dim() != 5) throw new ArgumentException($"latents must be [N, F, C, H, W], got [{string.Join(", ", latents.shape)}]");
        if (backgrounds < 1) throw new ArgumentException("at least one background");
        Boost = boost;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var frames = latents.flatten(0, 1).to(ScalarType.Float32);
        long n = frames.shape[0];
        if (n > maxFrames) frames = frames.index_select(0, linspace(0, n - 1, maxFrames).to(ScalarType.Int64));
        var colours = Colour(frames); // [n, C]
        // k-means, started from the frames farthest apart along the colours' overall brightness.
        var order = colours.sum(1).argsort();
        var picks = linspace(0, order.shape[0] - 1, backgrounds).to(ScalarType.Int64);
        var centroids = colours.index_select(0, order.index_select(0, picks)).clone();
        Tensor assign = zeros(colours.shape[0], ScalarType.Int64);
        for (int i = 0; i < 20; i++)
        {
            assign = cdist(colours, centroids).argmin(1);
            for (int k = 0; k < backgrounds; k++)
            {
                var members = assign.eq(k);
                if (members.any().item<bool>()) centroids[k] = colours[members].mean([0]);
            }
        }
        var templates = new List<Tensor>();
        FramesPerBackground = new int[backgrounds];
        for (int k = 0; k < backgrounds; k++)
        {
            var members = assign.eq(k);
            FramesPerBackground[k] = (int)members.sum().item<long>();
            templates.Add(FramesPerBackground[k] == 0 ? Median(frames, 0) : Median(frames[members], 0));
        }
        _centroids = centroids.MoveToOuterDisposeScope();
        _templates = stack(templates).MoveToOuterDisposeScope();
        // Distances that count as fully "object": the mean of the largest tenth of all positions' distances.
        var d = Distance(frames).flatten();
        var top = d.topk((int)Math.Max(1, d.shape[0] / 10)).values;
        _scale = Math.Max(top.mean().item<float>(), 1e-6);
    }

    /// <summary>Weights [B, F, 1, H, W] for latents [B, F, C, H, W]: 1 + boost · min(1, distance to its background / scale).</summary>
    public Tensor For(Tensor latents)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        long b = latents.shape[0], f = latents.shape[1];
        var frames = latents.flatten(0, 1).to(ScalarType.Float32);
        var share = Distance(frames).div(_scale).clamp_max(1.0);
        return share.mul(Boost).add(1).unflatten(0, [b, f]).unsqueeze(2).MoveToOuterDisposeScope();
    }

    /// <summary>The mean share of positions counted as object in these latents (a check that the weights mark objects).</summary>
    public double ObjectShare(Tensor latents)
    {
        using var scope = NewDisposeScope();
        return For(latents).sub(1).div(Boost).mean().item<float>();
    }

    private static Tensor Colour(Tensor frames) => Median(frames.flatten(2), 2); // [n, C]

    private static Tensor Median(Tensor x, long dim)
    {
        using var half = tensor(0.5f, x.dtype, x.device);
        return x.quantile(half, dim);
    }

    private Tensor Distance(Tensor frames)
    {
        var background = cdist(Colour(frames), _centroids.to(frames.device)).argmin(1);
        var template = _templates.to(frames.device).index_select(0, background);
        return frames.sub(template).square().sum(1).sqrt(); // [n, H, W]
    }

    public void Dispose()
    {
        _centroids.Dispose();
        _templates.Dispose();
    }
}
