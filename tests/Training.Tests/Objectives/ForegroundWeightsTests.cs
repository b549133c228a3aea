using SelfForcing.Model.Sampling;
using SelfForcing.Training.Objectives;
using SelfForcing.Training.Randomness;
using SelfForcing.Training.Tests.Recipe;
using static TorchSharp.torch;

namespace SelfForcing.Training.Tests.Objectives;

/// <summary>Loss weights that find the objects in latents against backgrounds learnt from the data itself.</summary>
public class ForegroundWeightsTests
{
    // Latents [N, F, C, 8, 8] of two backgrounds (each a per-channel colour plus a border ring that differs, as zero
    // padding makes a VAE's border latents differ) with one 2x2 "object" of other values at a drawn place per frame.
    private static (Tensor Latents, Tensor ObjectMask, Tensor Background) World(int clips, int frames, long seed)
    {
        using var scope = NewDisposeScope();
        var g = new Generator((ulong)seed);
        long c = 4;
        var colours = randn([2, c, 1, 1], generator: g).mul(2);
        var ring = ones([8, 8]);
        ring[TensorIndex.Slice(1, 7), TensorIndex.Slice(1, 7)] = zeros([6, 6]);
        var backgrounds = colours.expand(2, c, 8, 8).add(ring.mul(0.7)); // [2, C, 8, 8]
        var which = randint(0, 2, [clips], generator: g);
        var latents = backgrounds.index_select(0, which).unsqueeze(1).expand(clips, frames, c, 8, 8).clone();
        var mask = zeros([clips, frames, 8, 8]);
        for (int i = 0; i < clips; i++)
        for (int f = 0; f < frames; f++)
        {
            long y = randint(0, 7, [1], generator: g).item<long>(), x = randint(0, 7, [1], generator: g).item<long>();
            var obj = randn([c, 2, 2], generator: g).mul(1.5).add(3);
            latents[i, f, TensorIndex.Colon, TensorIndex.Slice(y, y + 2), TensorIndex.Slice(x, x + 2)] = obj;
            mask[i, f, TensorIndex.Slice(y, y + 2), TensorIndex.Slice(x, x + 2)] = ones([2, 2]);
        }
        return (latents.MoveToOuterDisposeScope(), mask.MoveToOuterDisposeScope(), which.MoveToOuterDisposeScope());
    }

    [Fact]
    public void Objects_weigh_up_to_one_plus_the_boost_and_backgrounds_borders_included_weigh_one()
    {
        using var scope = NewDisposeScope();
        var (train, _, which) = World(60, 3, 1);
        using var weights = new ForegroundWeights(train, boost: 4);
        int dark = (int)which.eq(0).sum().item<long>() * 3, light = 60 * 3 - dark;
        Assert.Equal(new[] { dark, light }.Order(), weights.FramesPerBackground.Order());

        var (held, mask, _) = World(10, 3, 1); // colours are drawn first: the same backgrounds, other objects
        var w = weights.For(held).squeeze(2); // [10, 3, 8, 8]
        Assert.Equal([10, 3, 8, 8], w.shape);
        var onBackground = w[mask.eq(0)];
        var onObjects = w[mask.eq(1)];
        Assert.True(onBackground.max().item<float>() < 1.5f, $"background (border ring included) weighs up to {onBackground.max().item<float>():F2}");
        Assert.True(onObjects.mean().item<float>() > 3.5f, $"objects weigh {onObjects.mean().item<float>():F2} on average (most 5)");
        Assert.True(w.max().item<float>() <= 5.0001f && w.min().item<float>() >= 1f);
    }

    [Fact]
    public void Weighted_flow_matching_loss_is_the_per_frame_weighted_mean_and_all_ones_changes_nothing()
    {
        using var scope = NewDisposeScope();
        using var teacher = TinyWorldData.NewTeacher();
        var (latents, prompts) = TinyWorldData.Data();
        var loss = new FlowMatchingLoss(new FlowMatchScheduler(2.0)) { UseTrainingWeight = false };
        FlowMatchingLossResult Run(Tensor? w)
        {
            using var random = new SeededTrainingRandom(7);
            using var noGrad = no_grad();
            return loss.Compute(teacher, latents, prompts, random, w);
        }
        var plain = Run(null);
        var ones_ = Run(ones([latents.shape[0], latents.shape[1], 1, latents.shape[3], latents.shape[4]]));
        Assert.Equal(plain.Loss.item<float>(), ones_.Loss.item<float>(), 5);

        var w = rand([latents.shape[0], latents.shape[1], 1, latents.shape[3], latents.shape[4]], generator: new Generator(3)).add(0.1);
        var weighted = Run(w);
        var error = (weighted.FlowPred - weighted.Target).square();
        var expected = error.mul(w).sum([2, 3, 4]).div(w.expand_as(error).sum([2, 3, 4])).mean().item<float>();
        Assert.Equal(expected, weighted.Loss.item<float>(), 5);
        Assert.NotEqual(plain.Loss.item<float>(), weighted.Loss.item<float>(), 4);
        latents.Dispose(); prompts.Dispose();
    }

    [Fact]
    public void A_boost_that_is_not_positive_is_refused()
    {
        using var latents = zeros([2, 3, 4, 8, 8]);
        Assert.Throws<ArgumentException>(() => new ForegroundWeights(latents, 0));
        using var flat = zeros([2, 4, 8, 8]);
        Assert.Throws<ArgumentException>(() => new ForegroundWeights(flat, 2));
    }
}
