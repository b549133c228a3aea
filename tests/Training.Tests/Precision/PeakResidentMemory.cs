using System.Globalization;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace SelfForcing.Training.Tests.Precision;

/// <summary>
/// Peak resident memory of a piece of work on Linux: VmHWM reset through <c>/proc/self/clear_refs</c>, read after the
/// work, relative to VmRSS before it. Large tensors must be mmapped by the allocator for freed activations to leave the
/// resident set: <see cref="FixMmapThreshold"/> first.
/// </summary>
internal static class PeakResidentMemory
{
    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int MallOpt(int param, int value);
    private const int MmapThreshold = -3;

    /// <summary>glibc's mallopt(M_MMAP_THRESHOLD, 64 KiB): a fixed threshold (no dynamic raise), so every tensor buffer is
    /// its own mapping, returned to the system when freed; otherwise freed activations stay in the heap and hide the
    /// difference. True when glibc took it.</summary>
    public static bool FixMmapThreshold() => MallOpt(MmapThreshold, 64 * 1024) == 1;

    /// <summary>MiB above the resident memory at the start, at the peak of <paramref name="work"/> (run in its own dispose scope).</summary>
    public static double MiB(Action work)
    {
        using var scope = NewDisposeScope();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        File.WriteAllText("/proc/self/clear_refs", "5"); // resets VmHWM to the current RSS
        long before = StatusKb("VmRSS");
        work();
        long peak = StatusKb("VmHWM");
        return (peak - before) / 1024.0;
    }

    private static long StatusKb(string field)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
                return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        throw new InvalidOperationException($"/proc/self/status has no {field}");
    }
}
