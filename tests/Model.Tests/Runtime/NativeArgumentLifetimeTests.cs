using System.Diagnostics;
using static TorchSharp.torch;

namespace SelfForcing.Model.Tests.Runtime;

/// <summary>
/// TorchSharp 0.107 does not keep a Tensor or Scalar argument alive across its native call, so a temporary such
/// as the alpha = 1 inside every <c>a + b</c> can be finalised by another thread's collection while libtorch
/// still reads it (seen in CI as "Expected false to be true" deep in add). The build rewrites the TorchSharp.dll
/// copies (build/TorchSharpKeepAlive.targets); these tests fail on the unpatched assembly.
/// </summary>
public class NativeArgumentLifetimeTests
{
    [Fact]
    public void The_loaded_torchsharp_keeps_native_arguments_alive()
    {
        var assembly = typeof(Tensor).Assembly;
        Assert.True(assembly.GetType("TorchSharp.NativeArgumentsKeptAlive") != null,
            $"{assembly.Location} is the unpatched TorchSharp: build/TorchSharpKeepAlive.targets did not run on it");
    }

    [Fact]
    public void Temporaries_survive_collections_during_their_native_calls()
    {
        // Unpatched, this loop failed about 5 times a second on a 2-core VM; patched, never in 25,000 ops. Gen-0
        // collections suffice (the temporaries are young) and stay cheap beside the other tests in this process.
        // Just under libtorch's 2 MB huge-page threshold: such tensors come from glibc's heap, quick to get and free.
        using var x = randn((1 << 19) - 1024, generator: new TorchSharp.torch.Generator(7));
        var stop = false;
        var collector = new Thread(() =>
        {
            while (!Volatile.Read(ref stop)) { GC.Collect(0); GC.WaitForPendingFinalizers(); }
        }) { IsBackground = true };
        collector.Start();
        var failures = new List<string>();
        long ops = 0;
        var clock = Stopwatch.StartNew();
        try
        {
            while (ops + failures.Count < 6000 && clock.Elapsed < TimeSpan.FromSeconds(20))
            {
                try
                {
                    using var scalarSum = 1 + x;
                    using var tensorSum = x + x;
                    ops++;
                }
                catch (Exception e) { failures.Add(e.Message.Split('\n')[0]); }
            }
        }
        finally
        {
            Volatile.Write(ref stop, true);
            collector.Join();
        }
        Assert.True(failures.Count == 0,
            $"{failures.Count} of {ops + failures.Count} additions failed under collections, first: {failures.FirstOrDefault()}");
    }
}
