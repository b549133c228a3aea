namespace SelfForcing.World;

/// <summary>
/// Geometry and sampling odds of the world. Sizes and speeds are fractions of the frame width so the world looks the
/// same at any resolution. The defaults: 32×32 frames (a 16×16 latent, the tiny model's default), 21 frames (the
/// reference's 21 latent frames = 7 chunks of 3), objects 28–38% of the width, slow = 1/64 and fast = 1/32 of the width
/// per frame (0.5 and 1 pixel at 32 px).
/// </summary>
public sealed record WorldSettings
{
    public int Width { get; init; } = 32;
    public int Height { get; init; } = 32;
    public int Frames { get; init; } = 21;
    public double MinSize { get; init; } = 0.28;
    public double MaxSize { get; init; } = 0.38;
    public double SlowSpeed { get; init; } = 1.0 / 64;
    public double FastSpeed { get; init; } = 1.0 / 32;
    /// <summary>Frames an object travels before it can first reach a wall, so the caption's direction is what a viewer
    /// (and the evaluator) sees at the start of the clip.</summary>
    public int LeadFrames { get; init; } = 10;
    public double TwoObjectOdds { get; init; } = 0.25;
    /// <summary>How much of the free room an object's start is drawn from (1 = all of it; 0 = against the wall behind it,
    /// centred across): less room makes the caption decide more of the clip, so a model has less to leave to its noise.</summary>
    public double StartJitter { get; init; } = 1.0;
    /// <summary>Fading copies of each object at its last N positions (0 = none). A trail shows in one frame which way an
    /// object moves, as motion blur does in a camera's frames; without it the direction is only in how frames differ.</summary>
    public int TrailFrames { get; init; }
    /// <summary>Odds that a caption names the background / the speed; captions that leave them out teach a model the
    /// short prompts people type ("a red square moves right").</summary>
    public double BackgroundWordOdds { get; init; } = 0.8;
    public double SpeedWordOdds { get; init; } = 0.5;

    public static WorldSettings Default { get; } = new();

    public WorldSettings Validate()
    {
        var errors = new List<string>();
        if (Width < 8 || Height < 8 || Width % 2 != 0 || Height % 2 != 0) errors.Add($"frames must be even and at least 8x8, got {Width}x{Height}");
        if (Frames < 2) errors.Add($"frames ({Frames}) must be at least 2");
        if (MinSize <= 0 || MaxSize < MinSize || MaxSize * Width >= Math.Min(Width, Height)) errors.Add($"object sizes {MinSize}..{MaxSize} must be positive, ordered and fit the frame");
        if (StartJitter is < 0 or > 1) errors.Add($"start jitter ({StartJitter}) must be in [0, 1]");
        if (TrailFrames is < 0 or > 8) errors.Add($"trail frames ({TrailFrames}) must be 0..8");
        if (SlowSpeed <= 0 || FastSpeed <= SlowSpeed) errors.Add("speeds must be positive with fast > slow");
        if (LeadFrames < 0 || Math.Min(Width, Height) - MaxSize * Width < LeadFrames * FastSpeed * Width)
            errors.Add($"lead frames ({LeadFrames}) of fast travel do not fit between the walls");
        foreach (var (name, p) in new[] { ("two-object", TwoObjectOdds), ("background-word", BackgroundWordOdds), ("speed-word", SpeedWordOdds) })
            if (p is < 0 or > 1) errors.Add($"{name} odds ({p}) must be in [0, 1]");
        if (errors.Count > 0) throw new ArgumentException("Invalid WorldSettings: " + string.Join("; ", errors));
        return this;
    }
}
