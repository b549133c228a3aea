using static TorchSharp.torch;

namespace SelfForcing.Training.Tests;

/// <summary>
/// The recipe tests run tiny models, and xunit already runs test classes in parallel: a second intra-op thread only adds
/// synchronisation (a tiny teacher step took 840 ms on 2 threads vs 65 ms on 1 on the busy 2-core machine). Called at
/// the start of such a test (with libtorch's OpenMP the count belongs to the calling thread); never restored, so no test
/// changes it while another computes.
/// </summary>
internal static class TorchThreads
{
    public static void UseOne()
    {
        if (get_num_threads() != 1) set_num_threads(1);
    }
}
