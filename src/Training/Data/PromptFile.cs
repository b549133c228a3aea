namespace SelfForcing.Training.Data;

/// <summary>The training data: a text file with one prompt a line (the reference's <c>TextDataset</c>), blank lines skipped.</summary>
public static class PromptFile
{
    public static IReadOnlyList<string> Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"prompt file not found: {path}", path);
        var prompts = File.ReadLines(path).Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        if (prompts.Count == 0) throw new InvalidDataException($"prompt file {path} has no prompts (one prompt a line; blank lines are skipped)");
        return prompts;
    }
}
