using System.Runtime.CompilerServices;
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

    /// <summary>libtorch's switch: CPU tensors of 2 MB and more are 2 MB-aligned and madvise(MADV_HUGEPAGE)d.</summary>
    public const string HugePagesVariable = "THP_MEM_ALLOC_ENABLE";

    private const string TransparentHugePagesSetting = "/sys/kernel/mm/transparent_hugepage/enabled";

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int MallOpt(int param, int value);

    [DllImport("libc", EntryPoint = "setenv")]
    private static extern int SetEnv(string name, string value, int overwrite);

    [DllImport("libc", EntryPoint = "getenv")]
    private static extern IntPtr GetEnv(string name);

    /// <summary>
    /// On a virtual machine most of a CPU decoder's time went to page faults: every large intermediate tensor is a
    /// fresh mapping, faulted in 4 KB at a time (TAEHV `mid` 4.2 s per chunk here, Wan VAE `mid` 36 s). libtorch can
    /// back tensors of 2 MB and more with transparent huge pages instead (one fault per 2 MB): 0.96 s and 12.3 s, with
    /// the same or lower peak memory and bitwise the same results. It reads <see cref="HugePagesVariable"/> from the C
    /// environment once, at its first CPU allocation, so it is set (unless the user set it, e.g. to 0) as soon as this
    /// assembly is touched: before any model builds a tensor. Effective where the kernel's THP mode is
    /// <c>madvise</c> or <c>always</c>; harmless elsewhere.
    /// </summary>
#pragma warning disable CA2255 // must run before libtorch's first allocation, which no caller can be relied on to order
    [ModuleInitializer]
    internal static void RequestHugePagesAtLoad() => RequestHugePages();
#pragma warning restore CA2255

    /// <summary>True once this process asked libtorch for huge pages (see <see cref="RequestHugePagesAtLoad"/>).</summary>
    public static bool HugePagesRequested { get; private set; }

    /// <summary>Asks libtorch for huge pages unless the user set the variable; idempotent, false off glibc.</summary>
    public static bool RequestHugePages()
    {
        if (HugePagesRequested) return true;
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            if (GetEnv(HugePagesVariable) != IntPtr.Zero) return false;
            HugePagesRequested = SetEnv(HugePagesVariable, "1", 0) == 0;
            return HugePagesRequested;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>One line for logs: whether large tensors get huge pages in this process, and why (not).</summary>
    public static string HugePagesDescription()
    {
        var value = OperatingSystem.IsLinux() && GetEnv(HugePagesVariable) is var p && p != IntPtr.Zero ? Marshal.PtrToStringUTF8(p) : null;
        var kernel = File.Exists(TransparentHugePagesSetting) ? File.ReadAllText(TransparentHugePagesSetting).Trim() : "absent";
        var origin = HugePagesRequested ? "set by the engine" : value is null ? "unset" : "set by the user";
        return $"{HugePagesVariable}={value ?? "(unset)"} ({origin}), kernel THP: {kernel}";
    }

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
