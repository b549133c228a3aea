using System.Text.Json;
using SelfForcing.Model.Checkpoints;
using SelfForcing.Model.Dit;
using static TorchSharp.torch;

namespace SelfForcing.Model.Tests.Golden.Dit;

/// <summary>
/// Replays the sidecar's sequence of KV-cached calls (denoising steps and context passes per chunk) on one
/// cache and compares every output, the traces of the first call and the final caches.
/// </summary>
public abstract class CausalDitParityBase : IParityCheck
{
    public abstract string Kind { get; }

    public void Run(GoldenCase golden)
    {
        using var scope = NewDisposeScope();
        var cfgJson = golden.Config;
        var config = WanConfig.FromJson(cfgJson);
        using var model = new CausalWanModel(config);
        ModuleWeights.LoadStrict(model, golden.GetAll("weights."), golden.Name);
        var context = golden.Get("input.prompt_embeds");
        var calls = golden.Sidecar.GetProperty("extra").GetProperty("calls").EnumerateArray().ToList();
        Assert.NotEmpty(calls);

        var firstX = golden.Get(calls[0].GetProperty("x").GetString()!);
        long latentH = firstX.shape[3], latentW = firstX.shape[4];
        long tokensPerFrame = latentH / config.PatchSize[1] * (latentW / config.PatchSize[2]);
        int capacityFrames = cfgJson.TryGetProperty("kv_cache_len_tokens", out var kvLen)
            ? (int)(kvLen.GetInt64() / tokensPerFrame)
            : calls.Max(c => (int)(c.GetProperty("current_start").GetInt64() / tokensPerFrame)) + config.NumFramePerBlock;
        using var cache = model.CreateCache((int)firstX.shape[0], capacityFrames, (int)latentH, (int)latentW, CPU, ScalarType.Float32);

        var traces = new Dictionary<string, Tensor>();
        using var noGrad = no_grad();
        for (int i = 0; i < calls.Count; i++)
        {
            var call = calls[i];
            int index = call.GetProperty("call").GetInt32();
            var tracePrefix = $"expected.trace_{index:D3}.";
            bool traced = golden.Names(tracePrefix).Any();
            model.Trace = traced ? (name, t) => traces[name] = t.detach().clone().DetachFromDisposeScope() : null;
            var flow = model.Forward(golden.Get(call.GetProperty("x").GetString()!), golden.Get(call.GetProperty("t").GetString()!),
                context, cache, call.GetProperty("current_start").GetInt64());
            golden.AssertMatches(call.GetProperty("expected").GetString()!, flow);
            foreach (var name in golden.Names(tracePrefix))
            {
                var key = name[tracePrefix.Length..];
                Assert.True(traces.ContainsKey(key), $"{golden.Name}: call {index} produced no trace '{key}'");
                golden.AssertMatches(name, traces[key]);
            }
            traces.Clear();
        }

        for (int layer = 0; layer < config.NumLayers; layer++)
        {
            if (golden.Has($"expected.kv_cache.{layer}.k"))
            {
                var (k, v) = cache.OrderedSelfAttention(layer);
                golden.AssertMatches($"expected.kv_cache.{layer}.k", k);
                golden.AssertMatches($"expected.kv_cache.{layer}.v", v);
            }
            if (golden.Has($"expected.crossattn_cache.{layer}.k"))
                golden.AssertMatches($"expected.crossattn_cache.{layer}.k", cache.CrossAttention(layer).K);
            if (golden.Has($"expected.crossattn_cache.{layer}.v"))
                golden.AssertMatches($"expected.crossattn_cache.{layer}.v", cache.CrossAttention(layer).V);
        }
    }
}

public sealed class CausalDitKvParity : CausalDitParityBase
{
    public override string Kind => "causal_dit_kv";
}

public sealed class CausalDitRollingParity : CausalDitParityBase
{
    public override string Kind => "causal_dit_rolling";
}
