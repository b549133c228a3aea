using static TorchSharp.torch;

namespace SelfForcing.Model.Sampling;

/// <summary>Replays recorded draws (e.g. the reference's torch.randn calls) so a test can reproduce a run exactly.</summary>
public sealed class ReplayNoiseSource : INoiseSource
{
    private readonly Func<int, int, Tensor> _recorded;

    /// <param name="recorded">(chunk, step) → the recorded draw, any layout with the requested element count.</param>
    public ReplayNoiseSource(Func<int, int, Tensor> recorded) => _recorded = recorded;

    public Tensor Draw(int chunk, int step, long[] shape, ScalarType dtype, Device device)
    {
        var t = _recorded(chunk, step);
        long n = shape.Aggregate(1L, (a, b) => a * b);
        if (t.numel() != n)
            throw new InvalidOperationException($"recorded noise for chunk {chunk}, step {step} has {t.numel()} elements, expected {n}");
        return t.reshape(shape).to(dtype, device);
    }
}
