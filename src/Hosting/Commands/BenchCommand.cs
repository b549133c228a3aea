using System.CommandLine;
using SelfForcing.Actors.Video;
using SelfForcing.Hosting.Bench;
using SelfForcing.Hosting.Output;
using TorchSharp;

namespace SelfForcing.Hosting.Commands;

/// <summary>
/// <c>selfforcing bench</c>: by default every figure in one run (<see cref="BenchReport"/>): each stage's time per
/// chunk, the stream's first-chunk latency, FPS (denoise only and end to end), pipelining efficiency, engine overhead,
/// memory, and memory over a long rolling-cache stream. <c>--stage</c> times one stage alone.
/// </summary>
public static class BenchCommand
{
    public static Command Create(TextWriter? stdout = null, TextWriter? stderr = null)
    {
        var config = new Option<string>("--config") { Description = "model shape: tiny, small (~113M), 1.3b, 14b", DefaultValueFactory = _ => "tiny" };
        var height = new Option<int>("--latent-height") { Description = "latent height (pixels / 8); 60 for 480p", DefaultValueFactory = _ => 8 };
        var width = new Option<int>("--latent-width") { Description = "latent width (pixels / 8); 104 for 832p", DefaultValueFactory = _ => 8 };
        var chunks = new Option<int>("--chunks") { Description = "timed chunks (after one warm-up chunk)", DefaultValueFactory = _ => 3 };
        var steps = new Option<int>("--steps") { Description = "denoising steps per chunk", DefaultValueFactory = _ => 4 };
        var device = new Option<string>("--device") { Description = "cpu, cuda, cuda:N", DefaultValueFactory = _ => "cpu" };
        var dtype = new Option<string>("--dtype") { Description = GeneratorDType.Help, DefaultValueFactory = _ => "auto" };
        var threads = new Option<int>("--threads") { Description = "CPU threads (0 = torch default)", DefaultValueFactory = _ => 0 };
        var stage = new Option<string>("--stage")
        {
            Description = "all (every figure: stages, stream through the pipeline, long stream), or one stage alone: denoise (the DiT), decode (a decoder), encode (ffmpeg, fMP4/JPEG), publish (fMP4 chunks into a JetStream record) or wire (one cross-node hop of each chunk message)",
            DefaultValueFactory = _ => "all",
        };
        var format = new Option<string>("--format")
        {
            Description = "with --stage encode: fmp4 or jpeg; with --stage all: fmp4, jpeg or rgb24 (no encoding, no ffmpeg needed)",
            DefaultValueFactory = _ => "fmp4",
        };
        var decoder = new Option<string>("--decoder") { Description = "with --stage all or decode: vae or taehv (all: also preview)", DefaultValueFactory = _ => "vae" };
        var latentFrames = new Option<int>("--latent-frames") { Description = "with --stage decode: latent frames per chunk", DefaultValueFactory = _ => 3 };
        var decoderSize = new Option<string>("--decoder-size") { Description = "with --stage all or decode: tiny, mid or real", DefaultValueFactory = _ => "tiny" };
        var longChunks = new Option<int>("--long-chunks")
        {
            Description = "with --stage all: chunks of the long rolling-cache stream (tiny model), memory after 10 and after this many; 0 skips it",
            DefaultValueFactory = _ => 100,
        };
        var nats = new Option<string?>("--nats")
        {
            Description = "with --stage all or publish: the NATS server to publish to (default: start nats-server from PATH on a free loopback port)",
        };
        var cmd = new Command("bench", "Measure speed and memory on random-weight models (no weights needed): every figure, or one stage.")
        {
            config, height, width, chunks, steps, device, dtype, threads, stage, decoder, decoderSize, latentFrames, format, longChunks, nats,
        };
        var output = stdout ?? Console.Out;
        cmd.SetAction(async (parse, ct) =>
        {
          try
          {
            var dt = GeneratorDType.Resolve(parse.GetValue(dtype)!, SelfForcing.Model.TorchRuntime.ParseDevice(parse.GetValue(device)!));
            int c = parse.GetValue(chunks), s = parse.GetValue(steps), h = parse.GetValue(height), w = parse.GetValue(width);
            if (c < 1 || c > 1000) throw new ArgumentException("--chunks must be between 1 and 1000");
            if (s < 1 || s > 100) throw new ArgumentException("--steps must be between 1 and 100");
            if (h < 2 || w < 2 || h > 2048 || w > 2048 || h % 2 != 0 || w % 2 != 0)
                throw new ArgumentException("--latent-height/--latent-width must be even and between 2 and 2048");
            if (parse.GetValue(stage) == "all")
            {
                int lc = parse.GetValue(longChunks);
                if (lc != 0 && (lc <= LongStreamMemory.EarlyChunks || lc > 100_000))
                    throw new ArgumentException($"--long-chunks must be 0 or between {LongStreamMemory.EarlyChunks + 1} and 100000");
                if (!StreamFormats.TryParse(parse.GetValue(format), out var streamFormat))
                    throw new ArgumentException($"--format must be fmp4, jpeg or rgb24 (got '{parse.GetValue(format)}')");
                await BenchReport.RunAsync(new BenchReportOptions(parse.GetValue(config)!, h, w, c, s, dt, parse.GetValue(threads), parse.GetValue(decoder)!,
                    parse.GetValue(decoderSize)!, lc, parse.GetValue(device)!, streamFormat, parse.GetValue(nats)), output);
                return 0;
            }
            if (parse.GetValue(stage) == "decode")
            {
                int lf = parse.GetValue(latentFrames);
                if (lf < 1 || lf > 64) throw new ArgumentException("--latent-frames must be between 1 and 64");
                DecodeBenchmark.Run(parse.GetValue(decoder)!, parse.GetValue(decoderSize)!, h, w, c, parse.GetValue(threads), output, lf);
                return 0;
            }
            if (parse.GetValue(stage) == "encode")
            {
                // Pixels = latents × 8; a chunk of 3 latent frames becomes 12 frames (9 for a stream's first chunk).
                EncodeBenchmark.Run(parse.GetValue(format)!, w * 8, h * 8, 12, c, 16, output);
                return 0;
            }
            if (parse.GetValue(stage) == "publish")
            {
                await PublishBenchmark.RunAsync(parse.GetValue(nats), w * 8, h * 8, 12, c, 16, output, ct);
                return 0;
            }
            if (parse.GetValue(stage) == "wire")
            {
                WireBenchmark.Run(h, w, c, output);
                return 0;
            }
            if (parse.GetValue(stage) != "denoise") throw new ArgumentException("--stage must be all, denoise, decode, encode, publish or wire");
            var result = DenoiseBenchmark.Run(new DenoiseBenchOptions(parse.GetValue(config)!, h, w, c, s, parse.GetValue(device)!, dt,
                parse.GetValue(threads)), output);
            output.WriteLine($"RESULT config={result.Options.ConfigName} params={result.Parameters} dtype={dt} device={result.Options.Device} " +
                              $"latent={h}x{w} tokens/chunk={result.TokensPerChunk} denoise_ms/chunk={result.MedianDenoiseMs:F1} " +
                              $"context_ms/chunk={result.MedianContextMs:F1} cpu_ms/chunk={result.MedianCpuMs:F0} tokens/s={result.TokensPerSecond:F1} " +
                              $"kv_cache_bytes={result.KvCacheBytes} peak_working_set_bytes={result.PeakWorkingSetBytes}");
            return 0;
          }
          catch (Exception e) when (e is ArgumentException or InvalidOperationException)
          {
              (stderr ?? Console.Error).WriteLine($"error: {e.Message}");
              return 1;
          }
        });
        return cmd;
    }
}
