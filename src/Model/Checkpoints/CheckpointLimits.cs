namespace SelfForcing.Model.Checkpoints;

/// <summary>
/// The bounds every checkpoint reader enforces, so that a hostile file is refused in one line instead of exhausting
/// the stack, memory or time. Each is far above what <c>torch.save</c> or the safetensors writer produce for real
/// models (a 14B-parameter training checkpoint has a few thousand tensors, keys under 200 characters, nesting under 10).
/// </summary>
public static class CheckpointLimits
{
    /// <summary>Largest <c>data.pkl</c> read. A state dict's pickle is ~100 bytes per tensor: kilobytes to a few MB.</summary>
    public const long MaxPickleBytes = 256L << 20;

    /// <summary>Pickle stack entries (marks included). The pickler batches containers by 1000 items, so real stacks stay in the thousands.</summary>
    public const int MaxPickleStack = 100_000;

    /// <summary>Distinct memo keys; torch.save memoises a handful of values per tensor.</summary>
    public const int MaxMemoEntries = 1_000_000;

    /// <summary>Values a pickle may build, and containers the structure check may visit (each once, however many paths reach it).</summary>
    public const int MaxObjects = 10_000_000;

    /// <summary>Containers nested inside one another (dicts, lists, tuples), counted along the longest chain.</summary>
    public const int MaxNestingDepth = 100;

    /// <summary>Tensor dimensions; libtorch itself caps most kernels at 25.</summary>
    public const int MaxTensorRank = 64;

    /// <summary>Entries of the flattened state dict (tensors and other values).</summary>
    public const int MaxStateDictEntries = 1_000_000;

    /// <summary>Characters in one dotted key, and in all keys together (which bounds the memory the key strings take).</summary>
    public const int MaxKeyChars = 4096;
    public const long MaxTotalKeyChars = 64L << 20;

    /// <summary>Records in a zip's central directory; a torch.save archive has one per storage plus three.</summary>
    public const int MaxZipEntries = 200_000;

    /// <summary>Largest safetensors JSON header; real headers of multi-GB models are a few hundred KB.</summary>
    public const long MaxSafeTensorsHeaderBytes = 100L * 1024 * 1024;
}
