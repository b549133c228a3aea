using static TorchSharp.torch;

namespace SelfForcing.Model.Sampling;

/// <summary>
/// Noise that is a pure function of (stream seed, chunk, step): each draw gets its own CPU generator seeded by a
/// SplitMix64 hash of the three, so a retried chunk reproduces exactly, the draw order between streams does not
/// matter, and CPU and GPU runs see the same numbers (drawn in float32 on the CPU, then moved and cast).
/// </summary>
public sealed class SeededNoiseSource : INoiseSource
{
    public long Seed { get; }

    public SeededNoiseSource(long seed) => Seed = seed;

    public static ulong DrawSeed(long seed, int chunk, int step)
    {
        ulong h = Mix((ulong)seed ^ 0x5EEDF0C1_5E1FF0C1UL);
        h = Mix(h ^ (ulong)(uint)chunk);
        return Mix(h ^ ((ulong)(uint)step << 32));
    }

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public Tensor Draw(int chunk, int step, long[] shape, ScalarType dtype, Device device)
    {
        if (chunk < 0 || step < 0) throw new ArgumentOutOfRangeException(nameof(chunk), "chunk and step must be non-negative");
        using var generator = new Generator(DrawSeed(Seed, chunk, step));
        using var cpu = randn(shape, ScalarType.Float32, CPU, generator: generator);
        return cpu.to(dtype, device);
    }
}
