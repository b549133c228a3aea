using static TorchSharp.torch;

namespace SelfForcing.Model.Vae;

/// <summary>Dispatch for the heterogeneous layer lists (<c>middle</c>, <c>downsamples</c>, <c>upsamples</c>).</summary>
internal static class VaeLayers
{
    public static Tensor Apply(nn.Module layer, Tensor x, VaeFeatureCache? cache) => layer switch
    {
        VaeResidualBlock r => r.Forward(x, cache),
        VaeResample s => s.Forward(x, cache),
        VaeAttentionBlock a => a.forward(x),
        _ => throw new InvalidOperationException($"Unexpected VAE layer {layer.GetType().Name}."),
    };

    /// <summary>
    /// <paramref name="next"/> takes the place of <paramref name="previous"/>, an intermediate the caller made and
    /// no longer needs: its handle is freed now rather than when the enclosing dispose scope ends, as PyTorch frees a
    /// tensor once its name is rebound. A view of it in <paramref name="next"/> keeps the storage alive.
    /// </summary>
    public static Tensor Replace(Tensor previous, Tensor next)
    {
        if (!ReferenceEquals(previous, next)) previous.Dispose();
        return next;
    }
}
