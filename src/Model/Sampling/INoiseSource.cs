using static TorchSharp.torch;

namespace SelfForcing.Model.Sampling;

/// <summary>
/// Where a stream's Gaussian noise comes from. <paramref name="step"/> 0 is the chunk's initial noise; step k ≥ 1
/// is the fresh noise used to re-noise the x0 prediction before denoising step k.
/// </summary>
public interface INoiseSource
{
    /// <param name="shape">[B, F, C, H, W] in the pipeline layout.</param>
    Tensor Draw(int chunk, int step, long[] shape, ScalarType dtype, Device device);
}
