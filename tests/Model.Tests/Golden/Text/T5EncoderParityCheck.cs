using SelfForcing.Model.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Model.Tests.Golden.Text;

/// <summary>
/// kind 't5_encoder': wan/modules/t5.py T5Encoder (UMT5 settings) with the fixture weights on the fixture ids and
/// mask; hidden states, WanTextEncoder's zeroed prompt_embeds, relative buckets and every stored per-layer
/// position bias are compared. Sizes come from the sidecar config.
/// </summary>
public sealed class T5EncoderParityCheck : IParityCheck
{
    public string Kind => "t5_encoder";

    public void Run(GoldenCase golden)
    {
        using var scope = NewDisposeScope();
        var cfg = golden.Config;
        var ids = golden.Get("input.ids");
        var mask = golden.Get("input.mask");
        long length = ids.shape[1];
        var config = T5EncoderConfig.FromJson(cfg) with { TextLen = (int)length };
        var dtype = golden.Get("expected.hidden_states").dtype;

        using var encoder = new T5Encoder(config, CPU, dtype);
        encoder.LoadWeights(golden.Tensors, "weights.");

        golden.AssertMatches("expected.hidden_states", encoder.forward(ids, mask));

        if (golden.Has("expected.rel_buckets"))
            golden.AssertMatches("expected.rel_buckets", T5RelativeEmbedding.Buckets(length, length, config.NumBuckets, config.MaxDist));

        foreach (var name in golden.Names("expected.pos_bias.blocks."))
        {
            int layer = int.Parse(name["expected.pos_bias.blocks.".Length..], System.Globalization.CultureInfo.InvariantCulture);
            golden.AssertMatches(name, encoder.PositionBias(layer, length));
        }

        if (golden.Has("expected.prompt_embeds"))
        {
            // Through TextEncoder's own path (runs only the real positions, then zero-pads).
            golden.AssertMatches("expected.prompt_embeds", TextEncoder.EncodeTokens(encoder, ids, mask));
            var zeroed = TextEncoder.ZeroPastLengths(golden.Get("expected.hidden_states"), mask.ne(0).sum(1).data<long>().ToArray());
            golden.AssertMatches("expected.prompt_embeds", zeroed);
        }
    }
}
