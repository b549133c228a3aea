using System.Runtime.InteropServices;

namespace SelfForcing.Model;

/// <summary>
/// glibc's heap, which libtorch's CPU tensors come from. By default glibc raises its mmap threshold (up to 32 MB)
/// each time an mmap'd block is freed, after which every tensor below that size comes from the heap; freed holes
/// between long-lived tensors (the decoders' causal-conv caches) stay resident, and the decoders' peak RSS grew chunk
/// after chunk (Wan VAE `mid`, 30×52: 1.9 GB after 2 chunks, 2.4 GB after 3). A fixed threshold keeps tensors above it
/// in their own mappings, returned to the system when freed (1.3 GB after 2 chunks with 1 or 4 MB, 1.6 GB with 16 MB).
/// The price is a page fault per fresh page of every such tensor: TAEHV `mid`, whose peak is below the reference's
/// anyway, ran about 20 % slower with it, so only the Wan VAE applies it (when built on the CPU).
/// </summary>
public static class NativeHeap
{
    /// <summary>Bytes above which a tensor gets its own mapping: large enough that small tensors stay on the fast heap.</summary>
    public const int DefaultMmapThreshold = 4 << 20;

    /// <summary>The threshold this process fixed, or null (glibc's sliding default, or one the user set).</summary>
    public static int? FixedMmapThreshold { get; private set; }

    private const int MmapThresholdOption = -3; // M_MMAP_THRESHOLD in malloc.h

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int MallOpt(int param, int value);

    /// <summary>
    /// Fixes glibc's mmap threshold for this process unless the user chose one (<c>MALLOC_MMAP_THRESHOLD_</c>); false
    /// where there is no glibc or it refused. Results are unchanged: only where freed memory goes.
    /// </summary>
    public static bool FixMmapThreshold(int bytes = DefaultMmapThreshold)
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") is not null) return false;
        try
        {
            if (MallOpt(MmapThresholdOption, bytes) != 1) return false;
            FixedMmapThreshold = bytes;
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }
}
