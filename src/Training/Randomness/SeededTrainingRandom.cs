using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Training.Randomness;

/// <summary>Draws from one seeded CPU generator (moved to the target device), so runs repeat across machines.</summary>
public sealed class SeededTrainingRandom : IResumableTrainingRandom, IDisposable
{
    private readonly Generator _generator;

    public SeededTrainingRandom(long seed) => _generator = new Generator((ulong)seed);

    public Tensor RandInt(long low, long high, long[] shape, string role)
    {
        if (high <= low) throw new ArgumentOutOfRangeException(nameof(high), $"{role}: empty range [{low}, {high})");
        return randint(low, high, shape, ScalarType.Int64, CPU, generator: _generator);
    }

    public Tensor Randn(long[] shape, ScalarType dtype, Device device, string role) =>
        randn(shape, ScalarType.Float32, CPU, generator: _generator).to(dtype, device);

    public Tensor SaveState() => _generator.get_state();

    public void RestoreState(Tensor state) => _generator.set_state(state);

    public void Dispose() => _generator.Dispose();
}
