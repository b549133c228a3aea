namespace SelfForcing.Model.Text;

/// <summary>
/// Runtime options of <see cref="TextEncoder"/>.
/// CacheCapacity: prompts whose embeddings are kept (LRU; 0 disables the cache).
/// UnloadAfterEncode: low-memory mode, drops the encoder weights after every Encode (reloaded on the next one).
/// </summary>
public sealed record TextEncoderOptions(int CacheCapacity = 32, bool UnloadAfterEncode = false)
{
    public static TextEncoderOptions Default { get; } = new();
}
