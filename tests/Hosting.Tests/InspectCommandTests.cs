using System.Text.Json;
using SelfForcing.Hosting.Commands;

namespace SelfForcing.Hosting.Tests;

[Trait("Category", "Parity")]
public class InspectCommandTests
{
    private static string CheckpointDir()
    {
        var env = Environment.GetEnvironmentVariable("SELFFORCING_GOLDEN_DIR");
        if (!string.IsNullOrWhiteSpace(env)) return Path.Combine(Path.GetFullPath(env), "checkpoints");
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "SelfForcing.Actors.sln"))) dir = dir.Parent;
        return Path.GetFullPath(Path.Combine(dir!.FullName, "..", "shared", "golden", "checkpoints"));
    }

    private static JsonElement Manifest()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(CheckpointDir(), "manifest.json")));
        return doc.RootElement.Clone();
    }

    public static IEnumerable<object[]> Good() => Manifest().GetProperty("good").EnumerateObject().Select(p => new object[] { p.Name });
    public static IEnumerable<object[]> Refuse() => Manifest().GetProperty("refuse").EnumerateObject().Select(p => new object[] { p.Name });

    [Theory]
    [MemberData(nameof(Good))]
    public void Inspect_lists_every_tensor(string name)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int rc = InspectCommand.Run(Path.Combine(CheckpointDir(), name), output, error);
        Assert.Equal(0, rc);
        int count = Manifest().GetProperty("good").GetProperty(name).GetProperty("tensors").GetInt32();
        Assert.Contains($"{count} tensors", output.ToString());
        Assert.Equal("", error.ToString());
    }

    [Theory]
    [MemberData(nameof(Refuse))]
    public void Inspect_refuses_bad_files_with_one_line(string name)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int rc = InspectCommand.Run(Path.Combine(CheckpointDir(), name), output, error);
        Assert.NotEqual(0, rc);
        var lines = error.ToString().TrimEnd().Split('\n');
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains(name, lines[0]);
    }

    [Fact]
    public void Cli_help_and_missing_file()
    {
        Assert.Equal(0, Cli.Run(["--help"]));
        Assert.NotEqual(0, Cli.Run(["inspect", "/nonexistent/file.pth"]));
    }
}
