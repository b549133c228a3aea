namespace SelfForcing.Model.Checkpoints;

/// <summary>A file's length through any symbolic links: <c>FileInfo.Length</c> of a link is the link's own few bytes,
/// and weights often arrive as links (Hugging Face's cache hands out links into its blob store).</summary>
public static class FileSize
{
    public static long Of(string path)
    {
        using var handle = File.OpenHandle(path);
        return RandomAccess.GetLength(handle);
    }
}
