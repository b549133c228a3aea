using System.Diagnostics;

namespace SelfForcing.Hosting.Bench;

/// <summary>Medians and process memory, the two summaries every bench figure is made of.</summary>
public static class BenchStats
{
    public static double Median(IEnumerable<double> xs)
    {
        var a = xs.OrderBy(x => x).ToArray();
        return a.Length == 0 ? double.NaN : a.Length % 2 == 1 ? a[a.Length / 2] : (a[a.Length / 2 - 1] + a[a.Length / 2]) / 2;
    }

    /// <summary>Resident set now and its peak so far (Linux: VmRSS / VmHWM), in bytes; native tensors included.</summary>
    public static (long Rss, long PeakRss) Memory()
    {
        using var me = Process.GetCurrentProcess();
        return (me.WorkingSet64, me.PeakWorkingSet64);
    }

    public static string Mb(long bytes) => $"{bytes / 1048576.0:F1} MB";
}
