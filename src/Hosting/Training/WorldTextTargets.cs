using SelfForcing.World;

namespace SelfForcing.Hosting.Training;

/// <summary>
/// What each token of a caption should tell the DiT, for <c>train world-text</c>: every word of an object's clause
/// ("a red circle moves left quickly") names that object's colour, shape, direction and spoken speed, and no background;
/// every word of "on a dark background" names the background and no object. "and" and the end token carry no target.
/// Wan's cross-attention reads the tokens as a bag, so binding has to live in each token: a direction word that also
/// says "red circle" cannot be mistaken for the other object's.
/// </summary>
public sealed record WorldTextTargets(long[] Colour, long[] Shape, long[] Direction, long[] Speed, long[] Background)
{
    /// <summary>The target of a token that has none (cross-entropy skips it).</summary>
    public const long Ignore = -100;

    /// <summary>Classes per head: each attribute's values, then "none" (speed: none, slow, fast).</summary>
    public static int Colours => Enum.GetValues<ObjectColour>().Length + 1;
    public static int Shapes => Enum.GetValues<ObjectShape>().Length + 1;
    public static int Directions => Enum.GetValues<MotionDirection>().Length + 1;
    public static int Speeds => Enum.GetValues<MotionSpeed>().Length + 1;
    public static int Backgrounds => Enum.GetValues<WorldBackground>().Length + 1;

    /// <summary>Classes of each head, in the order of <see cref="ByHead"/> (what <c>train world-text</c> builds its heads from).</summary>
    public static int[] Classes => [Colours, Shapes, Directions, Speeds, Backgrounds];

    /// <summary>The targets, one array per head, in the order of <see cref="Classes"/>.</summary>
    public long[][] ByHead => [Colour, Shape, Direction, Speed, Background];

    /// <summary>Targets for the tokens of <see cref="CaptionGrammar.Render"/>(<paramref name="caption"/>), padded to <paramref name="textLen"/>.</summary>
    public static WorldTextTargets Of(WorldCaption caption, int textLen)
    {
        int words = CaptionGrammar.Words(CaptionGrammar.Render(caption)).Length;
        if (words + 1 > textLen) throw new ArgumentException($"the caption's {words} words and end token do not fit text_len {textLen}");
        var t = new WorldTextTargets(Filled(textLen), Filled(textLen), Filled(textLen), Filled(textLen), Filled(textLen));
        int i = 0;
        for (int k = 0; k < caption.Objects.Count; k++)
        {
            if (k > 0) i++; // "and"
            var o = caption.Objects[k];
            int clause = 5 + (o.Speed is null ? 0 : 1);
            for (int j = 0; j < clause; j++, i++)
            {
                t.Colour[i] = (long)o.Colour;
                t.Shape[i] = (long)o.Shape;
                t.Direction[i] = (long)o.Direction;
                t.Speed[i] = o.Speed is { } s ? 1 + (long)s : 0;
                t.Background[i] = Backgrounds - 1;
            }
        }
        if (caption.Background is { } b)
            for (int j = 0; j < 4; j++, i++) // "on a dark background"
            {
                t.Colour[i] = Colours - 1;
                t.Shape[i] = Shapes - 1;
                t.Direction[i] = Directions - 1;
                t.Speed[i] = 0;
                t.Background[i] = (long)b;
            }
        if (i != words) throw new InvalidOperationException($"targets cover {i} of the caption's {words} words: \"{CaptionGrammar.Render(caption)}\"");
        return t;
    }

    private static long[] Filled(int n) => Enumerable.Repeat(Ignore, n).ToArray();
}
