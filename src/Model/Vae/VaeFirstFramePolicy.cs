namespace SelfForcing.Model.Vae;

/// <summary>How the decoder's temporal upsampling treats the very first latent frame of a video (spec vae.md §9.2, §11).</summary>
public enum VaeFirstFramePolicy
{
    /// <summary>
    /// Reference <c>WanVAE_.decode</c>: the first latent frame skips the temporal upsampling convs ("Rep") and
    /// yields one pixel frame; a chunk of n latents gives 1 + 4(n − 1) frames first, 4n afterwards. Matches the CLI.
    /// </summary>
    Reference,

    /// <summary>
    /// The web demo's <c>VAEDecoderWrapper</c> with a zero-initialised cache: every latent frame yields 4 pixel
    /// frames; the demo itself discards the first 3 frames of the first chunk.
    /// </summary>
    DemoZeroCache,
}
