namespace SelfForcing.World;

/// <summary>Draws scenes from a seed: every attribute uniform, starts placed so the first <see cref="WorldSettings.LeadFrames"/>
/// frames move freely, and a second object (if any) with another colour and not overlapping the first at frame 0.</summary>
public static class WorldSceneSampler
{
    public static WorldScene Sample(WorldSettings settings, Random rng)
    {
        settings.Validate();
        var background = Pick<WorldBackground>(rng);
        var objects = new List<WorldObject> { SampleObject(settings, rng, except: null) };
        if (rng.NextDouble() < settings.TwoObjectOdds)
        {
            // Rejection keeps the second box apart from the first at frame 0. A first box near the middle can leave too
            // little room on every side (seed 5667 of the defaults), so after 1,001 misses, where this used to give up,
            // the first box is drawn again: every scene that was drawn before is drawn the same.
            for (int attempt = 1; ; attempt++)
            {
                var second = SampleObject(settings, rng, except: objects[0].Colour);
                if (!Overlap(objects[0], second)) { objects.Add(second); break; }
                if (attempt % 1001 == 0) objects[0] = SampleObject(settings, rng, except: null);
                if (attempt == 100_000) throw new InvalidOperationException("could not place a second object apart from the first");
            }
        }
        return new WorldScene(settings.Width, settings.Height, settings.Frames, background, objects) { TrailFrames = settings.TrailFrames }.Validate();
    }

    private static WorldObject SampleObject(WorldSettings s, Random rng, ObjectColour? except)
    {
        var colours = Enum.GetValues<ObjectColour>().Where(c => c != except).ToArray();
        var colour = colours[rng.Next(colours.Length)];
        var shape = Pick<ObjectShape>(rng);
        var direction = Pick<MotionDirection>(rng);
        var speed = Pick<MotionSpeed>(rng);
        double size = s.Width * (s.MinSize + rng.NextDouble() * (s.MaxSize - s.MinSize));
        double v = s.Width * (speed == MotionSpeed.Fast ? s.FastSpeed : s.SlowSpeed);
        double along = (direction.IsHorizontal() ? s.Width : s.Height) - size;
        double across = (direction.IsHorizontal() ? s.Height : s.Width) - size;
        double lead = s.LeadFrames * v;
        // Drawn from the StartJitter share of the room nearest the wall behind the object and around the middle across;
        // at 1 these are the full ranges, the same numbers as before the setting existed.
        double j = s.StartJitter;
        double start = direction.Sign() > 0 ? rng.NextDouble() * j * (along - lead) : lead + (1 - j + j * rng.NextDouble()) * (along - lead);
        double side = across * (0.5 - j / 2 + j * rng.NextDouble());
        var (x, y) = direction.IsHorizontal() ? (start, side) : (side, start);
        return new WorldObject(colour, shape, direction, speed, size, x, y, v);
    }

    private static bool Overlap(WorldObject a, WorldObject b) =>
        a.X < b.X + b.Size + 1 && b.X < a.X + a.Size + 1 && a.Y < b.Y + b.Size + 1 && b.Y < a.Y + a.Size + 1;

    private static T Pick<T>(Random rng) where T : struct, Enum
    {
        var values = Enum.GetValues<T>();
        return values[rng.Next(values.Length)];
    }
}
