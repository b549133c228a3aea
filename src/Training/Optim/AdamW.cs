using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SelfForcing.Training.Optim;

/// <summary>Hyperparameters of one AdamW optimiser (reference config keys <c>lr</c>, <c>beta1</c>, <c>beta2</c>, <c>weight_decay</c>).</summary>
public sealed record AdamWSettings(double LearningRate, double Beta1 = 0.9, double Beta2 = 0.999, double WeightDecay = 0.01, double Eps = 1e-8)
{
    public AdamWSettings Validate()
    {
        if (!(LearningRate >= 0)) throw new ArgumentOutOfRangeException(nameof(LearningRate), "learning rate must be non-negative");
        if (!(Beta1 >= 0 && Beta1 < 1)) throw new ArgumentOutOfRangeException(nameof(Beta1), "beta1 must be in [0, 1)");
        if (!(Beta2 >= 0 && Beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(Beta2), "beta2 must be in [0, 1)");
        if (!(WeightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(WeightDecay), "weight decay must be non-negative");
        if (!(Eps >= 0)) throw new ArgumentOutOfRangeException(nameof(Eps), "eps must be non-negative");
        return this;
    }
}

/// <summary>
/// torch 1.13's <c>torch.optim.AdamW</c> (single-tensor path, amsgrad off), operation for operation, so float32 results
/// match the reference: decoupled decay <c>p ·= 1 − lr·wd</c>, moments, then <c>p −= lr/bc1 · m / (√v/√bc2 + eps)</c> with
/// the bias corrections computed in double as Python does. A parameter whose gradient is unset is skipped (its step
/// count does not advance), as in PyTorch. State is keyed by parameter name so it can be saved in the reference layout.
/// </summary>
public sealed class AdamW : IDisposable
{
    private readonly IReadOnlyList<(string Name, Parameter Param)> _params;
    private readonly Dictionary<string, ParamState> _state = new(StringComparer.Ordinal);

    public AdamWSettings Settings { get; }

    /// <summary>The rate the next <see cref="Step"/> uses: the settings' at first, changed by a caller's schedule.</summary>
    public double LearningRate
    {
        get => _learningRate;
        set => _learningRate = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), "learning rate must be non-negative");
    }
    private double _learningRate;

    public AdamW(IEnumerable<(string Name, Parameter Param)> parameters, AdamWSettings settings)
    {
        _params = parameters.ToList();
        Settings = settings.Validate();
        _learningRate = settings.LearningRate;
        var duplicates = _params.GroupBy(p => p.Name).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (duplicates.Count > 0) throw new ArgumentException($"parameter names must be unique: {string.Join(", ", duplicates)}");
    }

    /// <summary>Steps taken by a parameter (0 before its first update).</summary>
    public long StepOf(string name) => _state.TryGetValue(name, out var s) ? s.Step : 0;

    public void Step()
    {
        using var noGrad = no_grad();
        var (lr, beta1, beta2, wd, eps) = (_learningRate, Settings.Beta1, Settings.Beta2, Settings.WeightDecay, Settings.Eps);
        foreach (var (name, p) in _params)
        {
            using var scope = NewDisposeScope();
            var grad = p.grad;
            if (grad is null) continue;
            if (!_state.TryGetValue(name, out var st))
            {
                st = new ParamState(zeros_like(p).DetachFromDisposeScope(), zeros_like(p).DetachFromDisposeScope());
                _state[name] = st;
            }
            st.Step++;
            double biasCorrection1 = 1 - Math.Pow(beta1, st.Step);
            double biasCorrection2 = 1 - Math.Pow(beta2, st.Step);
            // Scalars held in locals until the calls return: an implicit double → Scalar temporary can be finalised
            // while libtorch still reads it (seen as a failing toFloat under GC pressure).
            using Scalar decay = 1 - lr * wd, b1 = beta1, oneMinusB1 = 1 - beta1, b2 = beta2, oneMinusB2 = 1 - beta2,
                epsilon = eps, negStep = -(lr / biasCorrection1), sqrtBc2 = Math.Sqrt(biasCorrection2);
            p.mul_(decay);
            st.ExpAvg.mul_(b1).add_(grad, alpha: oneMinusB1);
            st.ExpAvgSq.mul_(b2).addcmul_(grad, grad, value: oneMinusB2);
            var denom = st.ExpAvgSq.sqrt().div_(sqrtBc2).add_(epsilon);
            p.addcdiv_(st.ExpAvg, denom, value: negStep);
        }
    }

    /// <summary>
    /// The moments and step counts, as tensors named <c>exp_avg.NAME</c>, <c>exp_avg_sq.NAME</c> and <c>step.NAME</c>
    /// (an int64 scalar) — the values themselves, not copies; parameters never updated have no entry, as in PyTorch.
    /// </summary>
    public IEnumerable<KeyValuePair<string, Tensor>> ExportState()
    {
        foreach (var (name, st) in _state)
        {
            yield return new($"exp_avg.{name}", st.ExpAvg);
            yield return new($"exp_avg_sq.{name}", st.ExpAvgSq);
            yield return new($"step.{name}", tensor(st.Step));
        }
    }

    /// <summary>Replaces the state with one from <see cref="ExportState"/>; names must be parameters of this optimiser.</summary>
    public void ImportState(IReadOnlyDictionary<string, Tensor> state)
    {
        var byName = _params.ToDictionary(p => p.Name, p => p.Param, StringComparer.Ordinal);
        var steps = state.Where(kv => kv.Key.StartsWith("step.", StringComparison.Ordinal)).ToList();
        if (steps.Count * 3 != state.Count) throw new ArgumentException("optimizer state must hold exp_avg, exp_avg_sq and step for each parameter");
        Dispose();
        foreach (var (key, stepTensor) in steps)
        {
            var name = key["step.".Length..];
            if (!byName.TryGetValue(name, out var p)) throw new ArgumentException($"optimizer state names '{name}', which is not a parameter");
            if (!state.TryGetValue($"exp_avg.{name}", out var m) || !state.TryGetValue($"exp_avg_sq.{name}", out var v))
                throw new ArgumentException($"optimizer state for '{name}' lacks its moments");
            if (!m.shape.SequenceEqual(p.shape) || !v.shape.SequenceEqual(p.shape))
                throw new ArgumentException($"optimizer state for '{name}' has shape [{string.Join(", ", m.shape)}], parameter is [{string.Join(", ", p.shape)}]");
            _state[name] = new ParamState(m.to(p.dtype, p.device, copy: true).DetachFromDisposeScope(), v.to(p.dtype, p.device, copy: true).DetachFromDisposeScope())
            {
                Step = stepTensor.to(ScalarType.Int64).item<long>(),
            };
        }
    }

    /// <summary>Sets every gradient to none (<c>zero_grad(set_to_none=True)</c>).</summary>
    public void ZeroGrad()
    {
        foreach (var (_, p) in _params) p.grad?.Dispose();
        foreach (var (_, p) in _params) p.grad = null;
    }

    public void Dispose()
    {
        foreach (var s in _state.Values) { s.ExpAvg.Dispose(); s.ExpAvgSq.Dispose(); }
        _state.Clear();
    }

    private sealed class ParamState(Tensor expAvg, Tensor expAvgSq)
    {
        public Tensor ExpAvg { get; } = expAvg;
        public Tensor ExpAvgSq { get; } = expAvgSq;
        public long Step { get; set; }
    }
}
