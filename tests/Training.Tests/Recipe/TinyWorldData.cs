using SelfForcing.Model.Dit;
using SelfForcing.Model.Sampling;
using SelfForcing.Training.Ode;
using SelfForcing.Training.Randomness;
using SelfForcing.Training.Teacher;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Training.Tests.Recipe;

/// <summary>
/// A fixed toy data set for the teacher → ODE pairs → ODE init tests: two prompts, each with its own clean video latent
/// (a seeded value per channel, the same over frames and pixels — a flat "colour"), so "reproduces the data" has a plain
/// meaning: a sample for prompt k should be prompt k's latent. The trained teacher is shared by the tests (trained once,
/// on first use).
/// </summary>
internal static class TinyWorldData
{
    public static readonly WanConfig Config = WanConfig.Tiny;
    /// <summary>[F, C, H, W]: two chunks of three latent frames, 4×4 latents.</summary>
    public static readonly long[] LatentShape = [6, 16, 4, 4];
    public const int TeacherSteps = 300;

    /// <summary>[2, F, C, H, W] clean latents and [2, text_len, text_dim] prompt embeddings.</summary>
    public static (Tensor Latents, Tensor Prompts) Data()
    {
        var gen = new Generator(100);
        var perChannel = randn([2, 1, LatentShape[1], 1, 1], generator: gen);
        var latents = perChannel.expand(2, LatentShape[0], LatentShape[1], LatentShape[2], LatentShape[3]).contiguous().DetachFromDisposeScope();
        var prompts = randn([2, Config.TextLen, Config.TextDim], generator: gen).DetachFromDisposeScope();
        return (latents, prompts);
    }

    public static TeacherSettings Settings => new() { Optimizer = new Optim.AdamWSettings(3e-3, 0.9, 0.999, 0.01) };

    public static WanModel NewTeacher()
    {
        var model = new WanModel(Config);
        model.InitializeRandom(101, std: 0.05);
        return model;
    }

    /// <summary>Batches of 4 (both prompts twice) for <paramref name="steps"/> steps; returns the loss of every step.</summary>
    public static List<double> Train(TeacherTrainer trainer, int steps)
    {
        var (latents, prompts) = Data();
        using var batchIndex = tensor(new long[] { 0, 1, 0, 1 });
        using var x = latents.index_select(0, batchIndex);
        using var p = prompts.index_select(0, batchIndex);
        var losses = new List<double>();
        for (int i = 0; i < steps; i++) losses.Add(trainer.TrainStep(x, p).Loss);
        latents.Dispose(); prompts.Dispose();
        return losses;
    }

    // Trained on a thread of its own: created inside the first caller's dispose scope, the shared weights would be
    // disposed when that test ends, under the tests still using them.
    private static readonly Lazy<(WanModel Teacher, List<double> Losses)> Trained = new(() =>
    {
        (WanModel, List<double>) result = default;
        var thread = new Thread(() =>
        {
            TorchThreads.UseOne();
            var teacher = NewTeacher();
            using var random = new SeededTrainingRandom(102);
            using var trainer = new TeacherTrainer(teacher, Settings, random);
            var losses = Train(trainer, TeacherSteps);
            foreach (var p in teacher.parameters()) p.requires_grad_(false);
            result = (teacher, losses);
        });
        thread.Start();
        thread.Join();
        return result;
    }, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The teacher after <see cref="TeacherSteps"/> steps (frozen; do not modify) and its loss curve.</summary>
    public static (WanModel Teacher, List<double> Losses) TrainedTeacher => Trained.Value;

    /// <summary>Mean squared distance of samples [N, F, C, H, W] to the latent of their prompt (prompt of sample i is i % 2).</summary>
    public static double DistanceToData(Tensor samples, Tensor latents)
    {
        using var scope = NewDisposeScope();
        var target = latents.index_select(0, arange(samples.shape[0], ScalarType.Int64).remainder(2));
        return (samples - target).square().mean().item<float>();
    }

    /// <summary>The first noise of a student chunk from a trajectory's start; later re-noise draws seeded.</summary>
    public sealed class TrajectoryNoise(Tensor start, long seed) : INoiseSource
    {
        private readonly Generator _gen = new((ulong)seed);

        public Tensor Draw(int chunk, int step, long[] shape, ScalarType dtype, Device device) => step == 0
            ? start.narrow(1, (long)chunk * shape[1], shape[1]).to(dtype, device)
            : randn(shape, ScalarType.Float32, CPU, generator: _gen).to(dtype, device);
    }

    /// <summary>The student's few-step Self-Forcing samples [B, F, C, H, W] from the noise each trajectory started with.</summary>
    public static Tensor StudentSamples(CausalWanModel student, Tensor startNoise, Tensor prompts, long seed)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var sampler = new SelfForcingSampler(student);
        long b = startNoise.shape[0], frames = startNoise.shape[1];
        using var cache = student.CreateCache((int)b, (int)frames, (int)startNoise.shape[3], (int)startNoise.shape[4], CPU, ScalarType.Float32);
        var chunks = sampler.Generate(cache, prompts, (int)(frames / 3), new TrajectoryNoise(startNoise, seed), startNoise.shape[3], startNoise.shape[4]).ToList();
        return cat(chunks, 1).MoveToOuterDisposeScope();
    }
}
