using SelfForcing.Model.Dit;
using static TorchSharp.torch;

namespace SelfForcing.Training.Ode;

/// <summary>
/// The teacher's deterministic multi-step sampler (reference <c>scripts/generate_ode_pairs.py</c>): Euler steps of the
/// probability-flow ODE x ← x + v·(σ_{k+1} − σ_k) from noise at σ = 1 to σ = 0, with v the bidirectional model's flow and,
/// when an unconditional embedding is given, classifier-free guidance v = v_u + g·(v_c − v_u). The reference applies the
/// guidance to x0 and converts back to a flow through two σ lookups; on one σ the two are the same linear map, so guiding
/// the flow is that computation without its grid-lookup round trip.
/// </summary>
public sealed class TeacherOdeSampler
{
    public WanModel Model { get; }
    public EulerSchedule Schedule { get; }
    public double GuidanceScale { get; }

    public TeacherOdeSampler(WanModel model, EulerSchedule schedule, double guidanceScale = 1.0)
    {
        Model = model; Schedule = schedule; GuidanceScale = guidanceScale;
    }

    /// <summary>
    /// Integrates from <paramref name="noise"/> [B, F, C, H, W] and returns the latents before the steps in
    /// <paramref name="recordBefore"/> (indices into the schedule, 0 = the noise itself) followed by the final result:
    /// [B, recordBefore.Count + 1, F, C, H, W].
    /// </summary>
    public Tensor Trajectory(Tensor noise, Tensor promptEmbeds, Tensor? unconditionalEmbeds, IReadOnlyList<int> recordBefore)
    {
        if (recordBefore.Any(i => i < 0 || i >= Schedule.Steps))
            throw new ArgumentOutOfRangeException(nameof(recordBefore), $"recorded steps must be within [0, {Schedule.Steps})");
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        long b = noise.shape[0];
        var dtype = Model.parameters().First().dtype;
        var cond = promptEmbeds.to(dtype);
        var uncond = unconditionalEmbeds?.to(dtype).expand(b, -1, -1);
        var x = noise.to(ScalarType.Float32);
        var recorded = new List<Tensor>();
        for (int k = 0; k < Schedule.Steps; k++)
        {
            if (recordBefore.Contains(k)) recorded.Add(x);
            var t = full([b], Schedule.Timesteps[k], ScalarType.Float32, x.device);
            var v = Flow(x, t, cond);
            if (uncond is not null)
            {
                var vu = Flow(x, t, uncond);
                v = vu + GuidanceScale * (v - vu);
            }
            x = x + v * (Schedule.Sigmas[k + 1] - Schedule.Sigmas[k]);
        }
        recorded.Add(x);
        return stack(recorded, 1).MoveToOuterDisposeScope();
    }

    /// <summary>The final clean latents [B, F, C, H, W] from <paramref name="noise"/>.</summary>
    public Tensor Sample(Tensor noise, Tensor promptEmbeds, Tensor? unconditionalEmbeds = null)
    {
        using var scope = NewDisposeScope();
        return Trajectory(noise, promptEmbeds, unconditionalEmbeds, []).select(1, 0).MoveToOuterDisposeScope();
    }

    private Tensor Flow(Tensor x, Tensor t, Tensor context)
    {
        var dtype = context.dtype;
        return Model.Forward(x.to(dtype).permute(0, 2, 1, 3, 4), t, context).permute(0, 2, 1, 3, 4).to(ScalarType.Float32);
    }
}
