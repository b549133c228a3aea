using SelfForcing.Model.Dit;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Training.Ode;

/// <summary>
/// Makes <see cref="OdePairs"/> with a teacher: for prompt i, noise from a generator seeded with seed + i (so a pair does
/// not depend on the batch size or on the other prompts), the teacher's Euler ODE (with CFG when unconditional embeddings
/// are given), and the latents before steps 0, N/S, 2N/S, … plus the result.
/// </summary>
public static class OdePairGenerator
{
    /// <param name="promptEmbeds">[N, text_len, text_dim].</param>
    /// <param name="unconditionalEmbeds">[1, text_len, text_dim] (the negative prompt), or null for no guidance.</param>
    /// <param name="latentShape">[F, C, H, W] of one video's latents.</param>
    /// <param name="progress">called after each batch with the number of prompts done.</param>
    public static OdePairs Generate(WanModel teacher, Tensor promptEmbeds, Tensor? unconditionalEmbeds, long[] latentShape, long seed,
        OdePairSettings settings, Action<long>? progress = null)
    {
        settings.Validate();
        if (latentShape.Length != 4) throw new ArgumentException("latent shape must be [F, C, H, W]", nameof(latentShape));
        if (promptEmbeds.dim() != 3) throw new ArgumentException("prompt embeddings must be [N, text_len, text_dim]", nameof(promptEmbeds));
        var schedule = new EulerSchedule(settings.Steps, settings.Shift);
        var sampler = new TeacherOdeSampler(teacher, schedule, settings.GuidanceScale);
        var record = settings.RecordBefore;
        var device = teacher.parameters().First().device;
        long n = promptEmbeds.shape[0];
        var trajectories = new List<Tensor>();
        for (long start = 0; start < n; start += settings.BatchSize)
        {
            using var scope = NewDisposeScope();
            long count = Math.Min(settings.BatchSize, n - start);
            var noise = stack(Enumerable.Range(0, (int)count).Select(i => Noise(seed + start + i, latentShape)).ToArray()).to(device);
            var prompts = promptEmbeds.narrow(0, start, count).to(device);
            var uncond = unconditionalEmbeds?.to(device);
            trajectories.Add(sampler.Trajectory(noise, prompts, uncond, record).cpu().MoveToOuterDisposeScope());
            progress?.Invoke(start + count);
        }
        var odeLatent = cat(trajectories, 0);
        foreach (var t in trajectories) t.Dispose();
        var timesteps = tensor(record.Select(i => schedule.Timesteps[i]).ToArray(), ScalarType.Float32);
        return new OdePairs(odeLatent, promptEmbeds.cpu().clone(), timesteps).Validate();
    }

    /// <summary>The starting noise of prompt <paramref name="index"/>'s trajectory for a seed: float32 N(0, I) [F, C, H, W].</summary>
    public static Tensor Noise(long seedPlusIndex, long[] latentShape)
    {
        using var generator = new Generator((ulong)seedPlusIndex);
        return randn(latentShape, ScalarType.Float32, CPU, generator: generator);
    }
}
