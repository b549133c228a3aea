using System.Text.Json;
using SelfForcing.Model.Tests.Golden;

namespace SelfForcing.Model.Tests.Checkpoints;

/// <summary>The fixture directory's manifest.json: files a loader must read, and files it must refuse.</summary>
public static class CheckpointManifest
{
    private static JsonElement Root()
    {
        var path = Path.Combine(GoldenDirectory.Checkpoints, "manifest.json");
        using var doc = JsonDocument.Parse(System.IO.File.ReadAllText(path));
        return doc.RootElement.Clone();
    }

    public static IEnumerable<object[]> Good() => Root().GetProperty("good").EnumerateObject().Select(p => new object[] { p.Name });

    public static IEnumerable<object[]> Refuse() => Root().GetProperty("refuse").EnumerateObject().Select(p => new object[] { p.Name });

    public static JsonElement GoodEntry(string name) => Root().GetProperty("good").GetProperty(name);

    public static string RefuseReason(string name) => Root().GetProperty("refuse").GetProperty(name).GetString()!;

    public static string File(string name) => Path.Combine(GoldenDirectory.Checkpoints, name);
}
