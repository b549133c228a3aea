using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Model.Sampling;

/// <summary>
/// The reference's <c>utils/scheduler.py</c> FlowMatchScheduler as Self-Forcing builds it:
/// <c>FlowMatchScheduler(shift, sigma_min=0, extra_one_step=True)</c> then <c>set_timesteps(1000, training=True)</c>.
/// Tables are float32 and computed with libtorch's float32 ops in the reference's order, so they match bit for bit.
/// Every operation snaps its timestep to the nearest grid point (first index on ties).
/// </summary>
public sealed class FlowMatchScheduler
{
    private readonly float[] _sigmas;
    private readonly float[] _timesteps;
    private readonly float[] _weights;

    public double Shift { get; }
    public int NumTrainTimesteps { get; }
    public IReadOnlyList<float> Sigmas => _sigmas;
    public IReadOnlyList<float> Timesteps => _timesteps;
    public IReadOnlyList<float> LinearTimestepsWeights => _weights;

    public FlowMatchScheduler(double shift = 5.0, int numTrainTimesteps = 1000, double sigmaMax = 1.0, double sigmaMin = 0.0,
        bool extraOneStep = true)
    {
        if (shift <= 0) throw new ArgumentOutOfRangeException(nameof(shift), "shift must be positive");
        if (numTrainTimesteps < 2) throw new ArgumentOutOfRangeException(nameof(numTrainTimesteps));
        Shift = shift;
        NumTrainTimesteps = numTrainTimesteps;
        int steps = numTrainTimesteps; // set_timesteps(num_train_timesteps, training=True)
        using var scope = NewDisposeScope();
        var u = extraOneStep
            ? linspace(sigmaMax, sigmaMin, steps + 1, ScalarType.Float32).narrow(0, 0, steps)
            : linspace(sigmaMax, sigmaMin, steps, ScalarType.Float32);
        var sigmas = shift * u / (1 + (shift - 1) * u);
        var timesteps = sigmas * numTrainTimesteps;
        var y = exp(-2 * ((timesteps - steps / 2.0) / steps).pow(2));
        var yShifted = y - y.min();
        var weights = yShifted * (steps / yShifted.sum());
        _sigmas = sigmas.data<float>().ToArray();
        _timesteps = timesteps.data<float>().ToArray();
        _weights = weights.data<float>().ToArray();
    }

    /// <summary>argmin_k |t_k − t| evaluated in float32, first index on ties (reference lookup).</summary>
    public int TimestepId(float t) => Nearest(k => Math.Abs(_timesteps[k] - t));

    // The wrapper's flow/x0 conversions look the timestep up in float64.
    private int TimestepIdFloat64(double t) => Nearest(k => Math.Abs(_timesteps[k] - t));

    private int Nearest(Func<int, double> distance)
    {
        int best = 0;
        double bestDiff = double.PositiveInfinity;
        for (int k = 0; k < _timesteps.Length; k++)
        {
            double d = distance(k);
            if (d < bestDiff) { bestDiff = d; best = k; }
        }
        return best;
    }

    public float Sigma(float t) => _sigmas[TimestepId(t)];

    /// <summary>Warps a few-step list (e.g. [1000, 750, 500, 250]) onto the grid: cat(timesteps, [0])[1000 − τ].</summary>
    public float[] Warp(IReadOnlyList<int> denoisingStepList)
    {
        var result = new float[denoisingStepList.Count];
        for (int i = 0; i < result.Length; i++)
        {
            int index = NumTrainTimesteps - denoisingStepList[i];
            if (index < 0 || index > _timesteps.Length)
                throw new ArgumentOutOfRangeException(nameof(denoisingStepList), $"denoising step {denoisingStepList[i]} is outside [0, {NumTrainTimesteps}]");
            result[i] = index == _timesteps.Length ? 0f : _timesteps[index];
        }
        return result;
    }

    private Tensor PerSample(float[] values, int[] ids, Device device, ScalarType dtype) =>
        tensor(ids.Select(i => values[i]).ToArray(), ScalarType.Float32).reshape(-1, 1, 1, 1).to(dtype, device);

    private static float[] Flat(Tensor t) => t.to(ScalarType.Float32).cpu().flatten().data<float>().ToArray();

    /// <summary>x_t = (1 − σ)·x0 + σ·ε with σ per sample (timestep [N] or [B, F] flattened); result in ε's dtype.</summary>
    public Tensor AddNoise(Tensor x0, Tensor noise, Tensor timestep)
    {
        using var scope = NewDisposeScope();
        var ids = Flat(timestep).Select(TimestepId).ToArray();
        var sigma = PerSample(_sigmas, ids, noise.device, ScalarType.Float32);
        return ((1 - sigma) * x0 + sigma * noise).to(noise.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>Euler step x + v·(σ_next − σ). As in the reference, σ_next is 0 for the whole batch if any sample is at the last grid point.</summary>
    public Tensor Step(Tensor modelOutput, Tensor timestep, Tensor sample)
    {
        using var scope = NewDisposeScope();
        var ids = Flat(timestep).Select(TimestepId).ToArray();
        var sigma = PerSample(_sigmas, ids, modelOutput.device, ScalarType.Float32);
        Tensor next = ids.Any(i => i + 1 >= _sigmas.Length)
            ? zeros_like(sigma)
            : PerSample(_sigmas, ids.Select(i => i + 1).ToArray(), modelOutput.device, ScalarType.Float32);
        return (sample + modelOutput * (next - sigma)).MoveToOuterDisposeScope();
    }

    public float TrainingWeight(float t) => _weights[TimestepId(t)];

    /// <summary>x0 = x_t − σ·v in float64, returned in v's dtype (WanDiffusionWrapper._convert_flow_pred_to_x0). Inputs [N, ...], timestep [N].</summary>
    public Tensor FlowToX0(Tensor flow, Tensor xt, Tensor timestep)
    {
        using var scope = NewDisposeScope();
        var sigma = SigmaFloat64(timestep, flow);
        return (xt.to(ScalarType.Float64) - sigma * flow.to(ScalarType.Float64)).to(flow.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>v = (x_t − x0)/σ in float64, returned in x0's dtype (WanDiffusionWrapper._convert_x0_to_flow_pred).</summary>
    public Tensor X0ToFlow(Tensor x0, Tensor xt, Tensor timestep)
    {
        using var scope = NewDisposeScope();
        var sigma = SigmaFloat64(timestep, x0);
        return ((xt.to(ScalarType.Float64) - x0.to(ScalarType.Float64)) / sigma).to(x0.dtype).MoveToOuterDisposeScope();
    }

    private Tensor SigmaFloat64(Tensor timestep, Tensor like)
    {
        var t = timestep.to(ScalarType.Float64).cpu().flatten().data<double>().ToArray();
        var s = t.Select(v => (double)_sigmas[TimestepIdFloat64(v)]).ToArray();
        var shape = new long[like.dim()];
        shape[0] = -1;
        for (int i = 1; i < shape.Length; i++) shape[i] = 1;
        return tensor(s, ScalarType.Float64).reshape(shape).to(like.device);
    }
}
