using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SelfForcing.Training.Optim;

/// <summary>
/// The generator EMA (reference <c>utils/distributed.py</c> <c>EMA_FSDP</c>): a float32 shadow of every parameter, created
/// from the current weights, updated after each generator step as <c>shadow = shadow·d + p·(1 − d)</c>. The reference
/// keeps the shadow on the CPU; so does this one unless told otherwise.
/// </summary>
public sealed class ExponentialMovingAverage : IDisposable
{
    private readonly Dictionary<string, Tensor> _shadow = new(StringComparer.Ordinal);

    public double Decay { get; }

    public ExponentialMovingAverage(IEnumerable<(string Name, Parameter Param)> parameters, double decay, Device? device = null)
    {
        if (!(decay >= 0 && decay <= 1)) throw new ArgumentOutOfRangeException(nameof(decay), "EMA decay must be in [0, 1]");
        Decay = decay;
        using var noGrad = no_grad();
        foreach (var (name, p) in parameters)
            _shadow[name] = p.detach().to(ScalarType.Float32, device ?? CPU, copy: true).DetachFromDisposeScope();
    }

    /// <summary>An EMA resumed from a saved shadow (copied, float32, on <paramref name="device"/> or the CPU).</summary>
    public static ExponentialMovingAverage FromShadow(IReadOnlyDictionary<string, Tensor> shadow, double decay, Device? device = null)
    {
        var ema = new ExponentialMovingAverage([], decay);
        foreach (var (name, t) in shadow)
            ema._shadow[name] = t.detach().to(ScalarType.Float32, device ?? CPU, copy: true).DetachFromDisposeScope();
        return ema;
    }

    public IReadOnlyDictionary<string, Tensor> Shadow => _shadow;

    public void Update(IEnumerable<(string Name, Parameter Param)> parameters)
    {
        using var noGrad = no_grad();
        foreach (var (name, p) in parameters)
        {
            if (!_shadow.TryGetValue(name, out var s)) continue; // the reference skips names it has no shadow for
            using var scope = NewDisposeScope();
            s.mul_(Decay).add_(p.detach().to(ScalarType.Float32, s.device), alpha: 1.0 - Decay);
        }
    }

    public void Dispose()
    {
        foreach (var t in _shadow.Values) t.Dispose();
        _shadow.Clear();
    }
}
