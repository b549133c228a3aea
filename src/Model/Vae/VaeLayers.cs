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
}
