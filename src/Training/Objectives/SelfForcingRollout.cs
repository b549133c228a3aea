using SelfForcing.Model.Dit;
using SelfForcing.Training.Randomness;
using static TorchSharp.torch;

namespace SelfForcing.Training.Objectives;

/// <summary>What a rollout call was: a no-grad denoising step, the chunk's gradient-carrying exit step, or the cache re-run.</summary>
public enum RolloutCallKind { Denoise, Exit, Context }

/// <summary>One generator call of a rollout, for tests and traces (<see cref="X0"/> is null for context calls).</summary>
public sealed record RolloutCall(int Chunk, RolloutCallKind Kind, float Timestep, bool GradEnabled, long CurrentStart, Tensor NoisyInput, Tensor? X0);

/// <summary>
/// The rollout's output [B, F, C, H, W] (carrying gradient through the exit calls) and the exit-step interval (of the
/// first chunk's exit step; the reference returns none when the exit step differs per chunk).
/// </summary>
public sealed record RolloutResult(Tensor Output, int ExitStep, long DenoisedTimestepFrom, long DenoisedTimestepTo);

/// <summary>
/// The Self-Forcing training rollout (reference <c>SelfForcingTrainingPipeline.inference_with_trajectory</c>): chunk by
/// chunk with the generator's own KV cache; one exit step s (drawn once, shared by all chunks) — steps before it run without
/// gradient and are re-noised with fresh noise, step s runs WITH gradient and its x0 is the chunk's output; then the
/// output, noised to the context timestep's grid point (t = 0 → σ = 0.00498), is re-run without gradient to fill the cache.
/// How gradient crosses chunks through the cache is <see cref="CacheGradient"/>.
/// </summary>
public sealed class SelfForcingRollout
{
    public GeneratorNetwork Generator { get; }
    /// <summary>The (warped) denoising steps, e.g. 1000, 937.5, 833.33, 625.</summary>
    public IReadOnlyList<float> Steps { get; }
    public int FramesPerBlock { get; init; } = 3;
    public float ContextNoise { get; init; }
    /// <summary><c>same_step_across_blocks</c>: the first exit-step draw serves every chunk (else chunk c uses draw c).</summary>
    public bool SameStepAcrossBlocks { get; init; } = true;
    /// <summary><c>last_step_only</c>: every chunk exits at the last step (the draw is still made, as in the reference).</summary>
    public bool LastStepOnly { get; init; }
    /// <summary>The role of the exit-step draw: a decision shared by every sample (and every data-parallel replica).</summary>
    public const string ExitStepsRole = "exit steps";
    public CacheGradient CacheGradient { get; init; } = CacheGradient.Reference;
    /// <summary>The reference's hard-wired rollout length: frames before num_frames − this run without gradient.</summary>
    public int GradientFrames { get; init; } = 21;

    public SelfForcingRollout(GeneratorNetwork generator, IReadOnlyList<float> steps)
    {
        Generator = generator;
        Steps = steps;
        if (steps.Count == 0) throw new ArgumentException("the denoising step list is empty", nameof(steps));
    }

    /// <summary>The same rollout (steps and settings) over another generator, e.g. a bf16 compute copy of the trained one.</summary>
    public SelfForcingRollout WithGenerator(GeneratorNetwork generator) => new(generator, Steps)
    {
        FramesPerBlock = FramesPerBlock, ContextNoise = ContextNoise, SameStepAcrossBlocks = SameStepAcrossBlocks, LastStepOnly = LastStepOnly,
        CacheGradient = CacheGradient, GradientFrames = GradientFrames,
    };

    /// <param name="noise">[B, F, C, H, W]; may require grad (it then receives gradient when the exit step is 0).</param>
    /// <param name="observe">Receives every call (inputs and x0 detached; valid during the callback only — clone to keep).</param>
    public RolloutResult Run(Tensor noise, Tensor promptEmbeds, ITrainingRandom random, Action<RolloutCall>? observe = null)
    {
        using var scope = NewDisposeScope();
        long b = noise.shape[0], frames = noise.shape[1], h = noise.shape[3], w = noise.shape[4];
        if (frames % FramesPerBlock != 0) throw new ArgumentException($"{frames} frames do not split into chunks of {FramesPerBlock}");
        int blocks = (int)(frames / FramesPerBlock);
        var model = Generator.Model;
        long tokensPerFrame = h / model.Config.PatchSize[1] * (w / model.Config.PatchSize[2]);
        using var cache = model.CreateCache((int)b, (int)frames, (int)h, (int)w, noise.device, Generator.DType);
        cache.GradientMode = CacheGradient;

        var exitDraw = random.RandInt(0, Steps.Count, [blocks], ExitStepsRole);
        if (LastStepOnly) exitDraw = full_like(exitDraw, Steps.Count - 1);
        var exits = exitDraw.to(ScalarType.Int64, CPU).contiguous().data<long>().Select(e => (int)e).ToArray();
        int exit = exits[0]; // same_step_across_blocks: the first draw serves every chunk
        long startGradientFrame = frames - GradientFrames;
        var chunks = new List<Tensor>();
        for (int c = 0; c < blocks; c++)
        {
            long f0 = (long)c * FramesPerBlock, start = f0 * tokensPerFrame;
            var x = noise.narrow(1, f0, FramesPerBlock);
            Tensor x0 = null!;
            int chunkExit = SameStepAcrossBlocks ? exit : exits[c];
            for (int i = 0; i <= chunkExit; i++)
            {
                var t = full([b, FramesPerBlock], Steps[i], ScalarType.Float32, noise.device);
                if (i < chunkExit)
                {
                    using (no_grad())
                    {
                        x0 = Generator.Predict(x, promptEmbeds, t, cache, start).X0;
                        observe?.Invoke(new RolloutCall(c, RolloutCallKind.Denoise, Steps[i], false, start, x.detach(), x0.detach()));
                        var eps = random.Randn([b * FramesPerBlock, x0.shape[2], h, w], x0.dtype, x0.device, $"chunk {c} re-noise {i}");
                        var next = full([b * FramesPerBlock], Steps[i + 1], ScalarType.Float32, noise.device);
                        x = Generator.Scheduler.AddNoise(x0.flatten(0, 1), eps, next).unflatten(0, [b, FramesPerBlock]);
                    }
                }
                else
                {
                    // Frames before the gradient window run without gradient; otherwise the caller's mode holds (the
                    // critic phase runs the whole rollout under no_grad, as the reference does).
                    bool grad = f0 >= startGradientFrame && is_grad_enabled();
                    using (grad ? null : no_grad())
                        x0 = Generator.Predict(x, promptEmbeds, t, cache, start).X0;
                    observe?.Invoke(new RolloutCall(c, RolloutCallKind.Exit, Steps[i], grad, start, x.detach(), x0.detach()));
                }
            }
            chunks.Add(x0);
            var ctxT = full([b, FramesPerBlock], ContextNoise, ScalarType.Float32, noise.device);
            using (no_grad())
            {
                var eps = random.Randn([b * FramesPerBlock, x0.shape[2], h, w], x0.dtype, x0.device, $"chunk {c} context noise");
                var ctxInput = Generator.Scheduler.AddNoise(x0.detach().flatten(0, 1), eps, ctxT.flatten()).unflatten(0, [b, FramesPerBlock]);
                Generator.Predict(ctxInput, promptEmbeds, ctxT, cache, start);
                observe?.Invoke(new RolloutCall(c, RolloutCallKind.Context, ContextNoise, false, start, ctxInput, null));
            }
        }
        var output = cat(chunks, 1);
        var scheduler = Generator.Scheduler;
        long from = scheduler.NumTrainTimesteps - scheduler.TimestepId(Steps[exit]);
        long to = exit == Steps.Count - 1 ? 0 : scheduler.NumTrainTimesteps - scheduler.TimestepId(Steps[exit + 1]);
        // The graph keeps what backward needs; the cache's recorded writes are only needed during the forward.
        cache.ClearGradientHistory();
        return new RolloutResult(output.MoveToOuterDisposeScope(), exit, from, to);
    }
}
