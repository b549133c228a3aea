namespace SelfForcing.World;

/// <summary>
/// The captions' small grammar, written and read:
/// <code>
/// caption := clause [ "and" clause ] [ "on a" background "background" ]
/// clause  := "a" colour shape "moves" direction [ "slowly" | "quickly" ]
/// </code>
/// e.g. "a red circle moves left on a dark background", "a red square moves right",
/// "a blue triangle moves up quickly and a white circle moves down on a light background".
/// Parsing ignores case and a final full stop; anything else outside the grammar is an error that names the word.
/// </summary>
public static class CaptionGrammar
{
    public const string Slowly = "slowly", Quickly = "quickly";

    public static string Render(WorldCaption caption)
    {
        var clauses = caption.Objects.Select(o =>
            $"a {WorldAttributes.Word(o.Colour)} {WorldAttributes.Word(o.Shape)} moves {WorldAttributes.Word(o.Direction)}"
            + (o.Speed is { } s ? " " + (s == MotionSpeed.Fast ? Quickly : Slowly) : ""));
        var text = string.Join(" and ", clauses);
        return caption.Background is { } b ? $"{text} on a {WorldAttributes.Word(b)} background" : text;
    }

    /// <summary>The caption for a scene, naming the background and speed with the settings' odds (drawn from <paramref name="rng"/>).</summary>
    public static WorldCaption Draw(WorldScene scene, WorldSettings settings, Random rng)
    {
        bool withBackground = rng.NextDouble() < settings.BackgroundWordOdds;
        bool withSpeed = rng.NextDouble() < settings.SpeedWordOdds;
        return WorldCaption.Of(scene, withBackground, withSpeed);
    }

    /// <exception cref="FormatException">The text is not a caption of this grammar; the message names the offending word.</exception>
    public static WorldCaption Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var words = Words(text);
        int i = 0;
        string? Peek() => i < words.Length ? words[i] : null;
        void Expect(string word)
        {
            if (Peek() != word) throw Error(words, i, $"'{word}'");
            i++;
        }
        T Attribute<T>(string what) where T : struct, Enum
        {
            foreach (var v in Enum.GetValues<T>())
                if (Peek() == WorldAttributes.Word(v))
                {
                    i++;
                    return v;
                }
            throw Error(words, i, $"a {what} ({string.Join(", ", Enum.GetValues<T>().Select(x => WorldAttributes.Word(x)))})");
        }

        var objects = new List<CaptionObject>();
        do
        {
            if (objects.Count == 1) i++; // the "and"
            Expect("a");
            var colour = Attribute<ObjectColour>("colour");
            var shape = Attribute<ObjectShape>("shape");
            Expect("moves");
            var direction = Attribute<MotionDirection>("direction");
            MotionSpeed? speed = Peek() switch { Slowly => MotionSpeed.Slow, Quickly => MotionSpeed.Fast, _ => null };
            if (speed is not null) i++;
            objects.Add(new CaptionObject(colour, shape, direction, speed));
        } while (objects.Count == 1 && Peek() == "and");

        WorldBackground? background = null;
        if (Peek() == "on")
        {
            i++;
            Expect("a");
            background = Attribute<WorldBackground>("background");
            Expect("background");
        }
        if (i < words.Length) throw Error(words, i, "the end of the caption");
        if (objects.Count == 2 && objects[0].Colour == objects[1].Colour)
            throw new FormatException($"the two objects of \"{text}\" must have different colours");
        return new WorldCaption(objects, background);
    }

    /// <summary>Lower-case words, split on white space, without a final full stop.</summary>
    public static string[] Words(string text) =>
        text.Trim().TrimEnd('.').ToLowerInvariant().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);

    private static FormatException Error(string[] words, int i, string expected) => new(i < words.Length
        ? $"caption word {i + 1} is '{words[i]}' but the grammar expects {expected}: \"{string.Join(' ', words)}\""
        : $"caption ends after {words.Length} words but the grammar expects {expected}: \"{string.Join(' ', words)}\"");
}
