namespace SelfForcing.Model.Vae;

/// <summary>Reference <c>Resample</c> modes (the reference's 'none' is never built by the Wan VAE).</summary>
public enum VaeResampleMode
{
    Upsample2d,
    Upsample3d,
    Downsample2d,
    Downsample3d,
}
