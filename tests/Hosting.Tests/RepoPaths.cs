namespace SelfForcing.Hosting.Tests;

/// <summary>Files of this checkout, found from the test binaries (tests never read absolute paths).</summary>
public static class RepoPaths
{
    public static string File(string relative)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !System.IO.File.Exists(Path.Combine(dir.FullName, "SelfForcing.Actors.sln"))) dir = dir.Parent;
        return Path.Combine(dir!.FullName, relative);
    }
}
