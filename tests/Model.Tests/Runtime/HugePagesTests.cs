using static TorchSharp.torch;

namespace SelfForcing.Model.Tests.Runtime;

public class HugePagesTests
{
    [Fact]
    public void Large_cpu_tensors_are_backed_by_transparent_huge_pages()
    {
        // The C environment (what libtorch reads), not .NET's copy of it.
        Assert.StartsWith($"{NativeHeap.HugePagesVariable}=1 ", NativeHeap.HugePagesDescription());
        const string setting = "/sys/kernel/mm/transparent_hugepage/enabled";
        if (!File.Exists(setting) || File.ReadAllText(setting).Contains("[never]"))
            return; // a kernel without THP, or with it forbidden: libtorch's madvise is a no-op, nothing more to see

        long before = AnonHugePagesBytes();
        const long bytes = 256L << 20;
        using var t = ones(bytes / sizeof(float)); // written, so every page is faulted in
        long grown = AnonHugePagesBytes() - before;
        Assert.True(grown >= bytes / 2,
            $"a {bytes >> 20} MB tensor added {grown >> 20} MB of huge pages ({NativeHeap.HugePagesDescription()})");
    }

    private static long AnonHugePagesBytes()
    {
        foreach (var line in File.ReadLines("/proc/self/smaps_rollup"))
            if (line.StartsWith("AnonHugePages:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        throw new InvalidOperationException("no AnonHugePages in /proc/self/smaps_rollup");
    }
}
