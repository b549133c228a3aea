using static TorchSharp.torch;

namespace SelfForcing.Training.Randomness;

/// <summary>
/// Every random draw a training step makes, in the reference's call order, so that a recorded run can be replayed
/// exactly (parity fixtures) and a live run can be seeded and resumed. <paramref name="role"/> names the draw for
/// error messages.
/// </summary>
public interface ITrainingRandom
{
    /// <summary><c>torch.randint(low, high, shape)</c>: int64 values in [low, high).</summary>
    Tensor RandInt(long low, long high, long[] shape, string role);

    /// <summary><c>torch.randn</c> / <c>randn_like</c>: standard normal values.</summary>
    Tensor Randn(long[] shape, ScalarType dtype, Device device, string role);
}
