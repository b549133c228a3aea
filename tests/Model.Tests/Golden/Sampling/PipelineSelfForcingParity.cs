using SelfForcing.Model.Checkpoints;
using SelfForcing.Model.Dit;
using SelfForcing.Model.Sampling;
using static TorchSharp.torch;

namespace SelfForcing.Model.Tests.Golden.Sampling;

/// <summary>
/// CausalInferencePipeline end to end on the tiny model, with the reference's noise replayed: every generator
/// call's input, flow and x0, and the output latents.
/// </summary>
public sealed class PipelineSelfForcingParity : IParityCheck
{
    public string Kind => "pipeline_selfforcing";

    public void Run(GoldenCase golden)
    {
        using var scope = NewDisposeScope();
        var cfg = golden.Config;
        var args = cfg.GetProperty("pipeline_args");
        var modelKwargs = args.GetProperty("model_kwargs");
        var config = WanConfig.FromJson(cfg) with
        {
            NumFramePerBlock = args.GetProperty("num_frame_per_block").GetInt32(),
            LocalAttnSize = modelKwargs.GetProperty("local_attn_size").GetInt32(),
            SinkSize = modelKwargs.GetProperty("sink_size").GetInt32(),
        };
        Assert.False(args.TryGetProperty("independent_first_frame", out var iff) && iff.GetBoolean(),
            $"{golden.Name}: independent_first_frame is not supported by the few-step sampler");
        var settings = new SamplerSettings
        {
            DenoisingStepList = args.GetProperty("denoising_step_list").EnumerateArray().Select(x => x.GetInt32()).ToArray(),
            WarpDenoisingStep = args.GetProperty("warp_denoising_step").GetBoolean(),
            TimestepShift = modelKwargs.GetProperty("timestep_shift").GetDouble(),
            ContextNoise = args.GetProperty("context_noise").GetSingle(),
            NumFramePerBlock = config.NumFramePerBlock,
        };
        using var model = new CausalWanModel(config);
        ModuleWeights.LoadStrict(model, golden.GetAll("weights."), golden.Name);
        var sampler = new SelfForcingSampler(model, settings);
        golden.AssertMatches("expected.denoising_step_list", tensor(sampler.Timesteps.ToArray()));

        var noise = golden.Get("input.noise"); // [B, F_total, C, H, W]
        var context = golden.Get("input.prompt_embeds");
        long batch = noise.shape[0], totalFrames = noise.shape[1], h = noise.shape[3], w = noise.shape[4];
        int f = settings.NumFramePerBlock;
        Assert.True(totalFrames % f == 0, $"{golden.Name}: {totalFrames} frames is not a multiple of {f}");
        int chunks = (int)(totalFrames / f);
        int renoisePerChunk = settings.DenoisingStepList.Count - 1;
        var replay = new ReplayNoiseSource((chunk, step) => step == 0
            ? noise.narrow(1, (long)chunk * f, f)
            : golden.Get($"input.renoise_{chunk * renoisePerChunk + step - 1:D3}"));

        int capacity = cfg.TryGetProperty("kv_cache_len_tokens", out var kv)
            ? (int)(kv.GetInt64() / (h / config.PatchSize[1] * (w / config.PatchSize[2])))
            : (int)totalFrames;
        using var cache = model.CreateCache((int)batch, capacity, (int)h, (int)w, CPU, ScalarType.Float32);

        int call = 0;
        void Check(SamplerCall c)
        {
            var prefix = $"expected.call_{call:D3}.";
            golden.AssertMatches(prefix + "noisy_input", c.NoisyInput);
            golden.AssertMatches(prefix + "flow_pred", c.FlowPred);
            if (golden.Has(prefix + "x0_pred"))
            {
                Assert.NotNull(c.X0Pred);
                golden.AssertMatches(prefix + "x0_pred", c.X0Pred!);
            }
            call++;
        }

        var outputs = sampler.Generate(cache, context, chunks, replay, h, w, Check).ToList();
        Assert.Equal(golden.Names("expected.call_").Select(n => n.Split('.')[1]).Distinct().Count(), call);
        golden.AssertMatches("expected.output_latents", cat(outputs, 1));
    }
}
