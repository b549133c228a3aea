namespace SelfForcing.Model.Checkpoints;

/// <summary>Puts text taken from a checkpoint into an error message: one line, and short however long the file made it.</summary>
internal static class CheckpointText
{
    private const int MaxChars = 160;

    public static string Clip(string s)
    {
        var line = s.ReplaceLineEndings(" ");
        return line.Length <= MaxChars ? line : line[..MaxChars] + $"... ({line.Length} chars)";
    }
}
