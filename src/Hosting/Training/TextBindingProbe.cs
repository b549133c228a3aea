using SelfForcing.Actors.Engines;
using SelfForcing.World;
using static TorchSharp.torch;

namespace SelfForcing.Hosting.Training;

/// <summary>How far a caption's tokens move under one change, averaged over two-object captions (mean nearest-token distance).</summary>
public sealed record TextBindingScore(int Captions, double TokenNorm, double DirectionsSwapped, double ShapesSwapped,
    double ColourReplaced, double DirectionReplaced);

/// <summary>
/// <c>selfforcing train text-binding</c>: can a world text encoder tell "a red square moves left and a blue circle moves
/// right" from the same caption with the directions swapped? Wan's cross-attention gives text tokens no positions, so the
/// DiT reads a caption as a bag of token vectors; which object a word belongs to survives only in how the encoder mixed
/// each token with its neighbours. The probe compares the bags of captions that swap two objects' directions (or shapes)
/// with bags that replace one word: if a swap moves the bag far less than a new word does, the DiT gets little to bind
/// a direction to its object with, however long it trains.
/// </summary>
public static class TextBindingProbe
{
    public static TextBindingScore Measure(WorldTextEncodeEngine text, int count, int seed)
    {
        if (count < 1) throw new ArgumentException("--count must be at least 1");
        var rng = new Random(seed);
        var colours = Enum.GetValues<ObjectColour>();
        var shapes = Enum.GetValues<ObjectShape>();
        var directions = Enum.GetValues<MotionDirection>();
        double norm = 0, dirSwap = 0, shapeSwap = 0, colourNew = 0, dirNew = 0;
        for (int i = 0; i < count; i++)
        {
            var (c1, c2, c3) = ThreeDistinct(colours, rng);
            var (s1, s2, _) = ThreeDistinct(shapes, rng);
            var (d1, d2, d3) = ThreeDistinct(directions, rng);
            using var scope = NewDisposeScope();
            var caption = Tokens(text, c1, s1, d1, c2, s2, d2);
            norm += caption.norm(1).mean().item<float>();
            dirSwap += BagDistance(caption, Tokens(text, c1, s1, d2, c2, s2, d1));
            shapeSwap += BagDistance(caption, Tokens(text, c1, s2, d1, c2, s1, d2));
            colourNew += BagDistance(caption, Tokens(text, c3, s1, d1, c2, s2, d2));
            dirNew += BagDistance(caption, Tokens(text, c1, s1, d3, c2, s2, d2));
        }
        return new TextBindingScore(count, norm / count, dirSwap / count, shapeSwap / count, colourNew / count, dirNew / count);
    }

    /// <summary>
    /// Distance between two bags of vectors [La, D] and [Lb, D], blind to their order: the mean over both bags of each
    /// vector's distance to the nearest vector of the other. Zero for the same vectors in any order.
    /// </summary>
    public static double BagDistance(Tensor a, Tensor b)
    {
        if (a.dim() != 2 || b.dim() != 2 || a.shape[1] != b.shape[1])
            throw new ArgumentException($"bags must be [L, D] with the same D, got [{string.Join(", ", a.shape)}] and [{string.Join(", ", b.shape)}]");
        using var scope = NewDisposeScope();
        var d = cdist(a.unsqueeze(0), b.unsqueeze(0))[0];
        return 0.5 * (d.min(1).values.mean().item<float>() + d.min(0).values.mean().item<float>());
    }

    /// <summary>One line: the two swaps against a replaced direction word (near 1: a swap moves the tokens as far as a new word).</summary>
    public static string Describe(TextBindingScore s) => FormattableString.Invariant(
        $"directions swapped {s.DirectionsSwapped:0.000}, shapes swapped {s.ShapesSwapped:0.000}, a direction replaced {s.DirectionReplaced:0.000}, a colour replaced {s.ColourReplaced:0.000} (swap/replace {s.DirectionsSwapped / s.DirectionReplaced:0.00}; token norm {s.TokenNorm:0.00})");

    /// <param name="worldFile">A world model file, or a <c>train world-text</c> file (<see cref="WorldTextFile.Load"/>).</param>
    public static void Run(string worldFile, int count, int seed, TextWriter log)
    {
        using var text = WorldTextFile.Load(worldFile, CPU);
        var s = Measure(text, count, seed);
        log.WriteLine($"text-binding: {s.Captions} two-object captions through the text encoder of {worldFile}; token norm {s.TokenNorm:0.00}");
        log.WriteLine("mean nearest-token distance between a caption and the same caption with");
        log.WriteLine($"  the objects' directions swapped  {s.DirectionsSwapped,7:0.000}");
        log.WriteLine($"  the objects' shapes swapped      {s.ShapesSwapped,7:0.000}");
        log.WriteLine($"  one colour word replaced         {s.ColourReplaced,7:0.000}");
        log.WriteLine($"  one direction word replaced      {s.DirectionReplaced,7:0.000}");
        log.WriteLine($"binding against a word: directions {s.DirectionsSwapped / s.DirectionReplaced:0.00}, shapes {s.ShapesSwapped / s.DirectionReplaced:0.00} " +
            "(near 0: the DiT sees nearly the same tokens whichever object a word belongs to)");
    }

    /// <summary>The caption's own tokens (its words and the end id; not the zero padding) [L, D].</summary>
    private static Tensor Tokens(WorldTextEncodeEngine text, ObjectColour c1, ObjectShape s1, MotionDirection d1,
        ObjectColour c2, ObjectShape s2, MotionDirection d2)
    {
        string caption = $"a {WorldAttributes.Word(c1)} {WorldAttributes.Word(s1)} moves {WorldAttributes.Word(d1)} " +
                         $"and a {WorldAttributes.Word(c2)} {WorldAttributes.Word(s2)} moves {WorldAttributes.Word(d2)}";
        int length = (int)text.Tokenize(caption).Mask.Sum();
        return text.Encode(caption)[0, ..length];
    }

    private static (T, T, T) ThreeDistinct<T>(T[] values, Random rng)
    {
        var order = values.OrderBy(_ => rng.Next()).ToArray();
        return (order[0], order[1], order[2]);
    }
}
