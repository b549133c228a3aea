namespace SelfForcing.Model.Tests.Golden;

/// <summary>Where parity fixtures live: $SELFFORCING_GOLDEN_DIR, else ../shared/golden beside the repository.</summary>
public static class GoldenDirectory
{
    public static string Path
    {
        get
        {
            var env = Environment.GetEnvironmentVariable("SELFFORCING_GOLDEN_DIR");
            if (!string.IsNullOrWhiteSpace(env)) return System.IO.Path.GetFullPath(env);
            // Walk up from the test binary to the repository root (the folder holding the .sln).
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir != null && !File.Exists(System.IO.Path.Combine(dir.FullName, "SelfForcing.Actors.sln")))
                dir = dir.Parent;
            if (dir == null) throw new InvalidOperationException("Cannot find the repository root; set SELFFORCING_GOLDEN_DIR.");
            return System.IO.Path.GetFullPath(System.IO.Path.Combine(dir.FullName, "..", "shared", "golden"));
        }
    }

    public static string Checkpoints => System.IO.Path.Combine(Path, "checkpoints");

    /// <summary>
    /// Every parity case: each *.json sidecar at the top of the fixture folder, by file stem. A sidecar without a
    /// "kind" is listed too, so that it fails rather than being skipped. Subfolders (checkpoints/, training/) hold
    /// fixtures of other harnesses and are not walked.
    /// </summary>
    public static IEnumerable<string> CaseNames() => CaseNames(Path);

    public static IEnumerable<string> CaseNames(string dir)
    {
        if (!System.IO.Directory.Exists(dir)) throw new DirectoryNotFoundException($"Golden fixture directory not found: {dir}");
        return System.IO.Directory.GetFiles(dir, "*.json").OrderBy(f => f, StringComparer.Ordinal).Select(System.IO.Path.GetFileNameWithoutExtension)!;
    }
}
