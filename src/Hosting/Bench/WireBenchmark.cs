using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;
using SelfForcing.Actors;
using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Messages;
using SelfForcing.Actors.Wire;
using static TorchSharp.torch;

namespace SelfForcing.Hosting.Bench;

/// <summary>
/// <c>bench --stage wire</c>: what one cross-node hop costs for the messages a stream sends each chunk — serialise,
/// deserialise, and a real Akka.Remote round trip between two actor systems on loopback (hop = round trip / 2).
/// </summary>
public static class WireBenchmark
{
    private sealed class Echo : ReceiveActor
    {
        public Echo() => ReceiveAny(m => Sender.Tell(m));
    }

    public static void Run(int latentHeight, int latentWidth, int repeats, TextWriter output)
    {
        var config = ConfigurationFactory.ParseString("""
            akka.actor.provider = remote
            akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
            akka.loglevel = ERROR
            """).WithFallback(PipelineHocon.Default);
        using var a = ActorSystem.Create("selfforcing", config);
        using var b = ActorSystem.Create("selfforcing", config);
        var echo = b.ActorOf(Props.Create(() => new Echo()), "echo");
        var address = ((ExtendedActorSystem)b).Provider.DefaultAddress;
        var remote = a.ActorSelection(new RootActorPath(address) / "user" / "echo").ResolveOne(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();
        var serializer = new WireSerializer((ExtendedActorSystem)a);

        var spec = new StreamSpec("bench", "a cat", 1, latentHeight, latentWidth, 7, 16, "vae");
        int frames = 12, height = latentHeight * 8, width = latentWidth * 8;
        using var g = new Generator(1);
        using var latents = randn([1, 3, 16, latentHeight, latentWidth], generator: g);
        using var bf16 = latents.to(ScalarType.BFloat16);
        using var text = randn([1, 512, 4096], generator: g);
        (string Name, object Message)[] messages =
        [
            ("TextEncoded (UMT5 [1,512,4096] f32, once per prompt)", new TextEncoded("bench", WireTensor.From(text))),
            ($"ChunkDenoised (latents [1,3,16,{latentHeight},{latentWidth}] bf16)", new ChunkDenoised("bench", 0, WireTensor.From(bf16))),
            ($"ChunkDenoised (latents [1,3,16,{latentHeight},{latentWidth}] f32)", new ChunkDenoised("bench", 0, WireTensor.From(latents))),
            ($"EncodeJob ({frames} frames {width}x{height} RGB24)", new EncodeJob(spec, 0, 0, frames, height, width, new byte[frames * height * width * 3], 0, ActorRefs.Nobody)),
        ];
        output.WriteLine($"wire: MessagePack ({nameof(WireSerializer)}) + Akka.Remote (DotNetty TCP) on loopback, median of {repeats}");
        output.WriteLine($"{"message",-58} {"bytes",12} {"ser ms",8} {"deser ms",9} {"hop ms",8}");
        foreach (var (name, message) in messages)
        {
            var ser = new List<double>(); var deser = new List<double>(); var hop = new List<double>();
            byte[] bytes = [];
            for (int i = 0; i <= repeats; i++)
            {
                var clock = Stopwatch.StartNew();
                bytes = serializer.ToBinary(message);
                double s = clock.Elapsed.TotalMilliseconds;
                clock.Restart();
                serializer.FromBinary(bytes, serializer.Manifest(message));
                double d = clock.Elapsed.TotalMilliseconds;
                clock.Restart();
                remote.Ask<object>(message, TimeSpan.FromSeconds(60)).GetAwaiter().GetResult();
                double rtt = clock.Elapsed.TotalMilliseconds;
                if (i == 0) continue; // warm-up
                ser.Add(s); deser.Add(d); hop.Add(rtt / 2);
            }
            output.WriteLine($"{name,-58} {bytes.Length,12:N0} {Median(ser),8:F2} {Median(deser),9:F2} {Median(hop),8:F2}");
        }
        a.Terminate().Wait(TimeSpan.FromSeconds(10));
        b.Terminate().Wait(TimeSpan.FromSeconds(10));
    }

    private static double Median(List<double> xs)
    {
        xs.Sort();
        return xs.Count == 0 ? double.NaN : xs.Count % 2 == 1 ? xs[xs.Count / 2] : (xs[xs.Count / 2 - 1] + xs[xs.Count / 2]) / 2;
    }
}
