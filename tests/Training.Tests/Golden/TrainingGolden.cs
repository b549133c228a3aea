using System.Text.Json;
using SelfForcing.Model.Tests.Golden;

namespace SelfForcing.Training.Tests.Golden;

/// <summary>The training fixtures: <c>$SELFFORCING_GOLDEN_DIR/training/*.json</c>, beside the inference ones.</summary>
public static class TrainingGolden
{
    public static string Path => System.IO.Path.Combine(GoldenDirectory.Path, "training");

    public static IEnumerable<string> CaseNames() => GoldenDirectory.CaseNames(Path);

    public static GoldenCase Load(string name) => GoldenCase.Load(Path, name);

    /// <summary>The sidecar's kind without opening its tensors; null when it has none (such a case must fail, not vanish).</summary>
    public static string? KindOf(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(System.IO.Path.Combine(Path, name + ".json")));
        return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("kind", out var k)
            && k.ValueKind == JsonValueKind.String ? k.GetString() : null;
    }
}
