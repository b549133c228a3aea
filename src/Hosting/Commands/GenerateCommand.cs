using System.CommandLine;
using System.Diagnostics;
using Akka.Actor;
using SelfForcing.Actors;
using SelfForcing.Actors.Messages;
using SelfForcing.Hosting.Output;

namespace SelfForcing.Hosting.Commands;

/// <summary><c>selfforcing generate</c>: one stream per prompt through the actor pipeline, each written to an mp4.</summary>
public static class GenerateCommand
{
    public static Command Create(TextWriter? stdout = null, TextWriter? stderr = null)
    {
        var prompt = new Option<string[]>("--prompt", "-p") { Description = "text prompt; repeat for several videos", Required = true, AllowMultipleArgumentsPerToken = false };
        var seed = new Option<long>("--seed") { Description = "noise seed; -1 = random (printed)", DefaultValueFactory = _ => 0 };
        var outDir = new Option<string>("--out-dir", "-o") { Description = "folder for the mp4 files (created if missing)", DefaultValueFactory = _ => "out" };
        var chunks = new Option<int>("--chunks") { Description = "chunks of 3 latent frames (7 = the reference's 81-frame video)", DefaultValueFactory = _ => 4 };
        var fps = new Option<int>("--fps") { Description = "frames per second of the output", DefaultValueFactory = _ => 16 };
        var weights = new WeightCliOptions();
        var decoder = new Option<string?>("--decoder") { Description = "vae, taehv, preview or world (default: vae with weights, world for the world model, else preview)" };
        var config = new Option<string?>("--config") { Description = "HOCON file (devices, pipeline); see hocon/selfforcing.conf" };
        var latentH = new Option<int?>("--latent-height") { Description = "latent height (pixels/8); default 60 with weights, 16 for the tiny models (8 for a world model of VAE latents)" };
        var latentW = new Option<int?>("--latent-width") { Description = "latent width (pixels/8); default 104 with weights, 16 for the tiny models (8 for a world model of VAE latents)" };
        var metricsPort = new Option<int?>("--metrics-port") { Description = "serve Prometheus metrics on http://localhost:PORT/metrics while generating" };
        var cmd = new Command("generate", "Generate videos from prompts through the actor pipeline and write them as mp4 files.")
        {
            prompt, seed, outDir, chunks, fps, decoder, config, latentH, latentW, metricsPort,
        };
        weights.AddTo(cmd);
        cmd.SetAction((parse, ct) => RunAsync(new GenerateOptions(parse.GetValue(prompt)!, parse.GetValue(seed), parse.GetValue(outDir)!, parse.GetValue(chunks),
            parse.GetValue(fps), weights.Read(parse), parse.GetValue(decoder), parse.GetValue(config), parse.GetValue(latentH), parse.GetValue(latentW),
            parse.GetValue(metricsPort), parse.GetValue(weights.UnloadTextEncoder)),
            stdout ?? Console.Out, stderr ?? Console.Error, ct));
        return cmd;
    }

    public sealed record GenerateOptions(string[] Prompts, long Seed, string OutDir, int Chunks, int Fps, WeightOptions Weights, string? Decoder,
        string? ConfigPath, int? LatentHeight, int? LatentWidth, int? MetricsPort = null, bool UnloadTextEncoder = false);

    /// <summary>The HOCON settings with the command line's overrides applied (a flag can turn a setting on, never off).</summary>
    public static PipelineSettings Settings(GenerateOptions o, Akka.Configuration.Config hocon)
    {
        var settings = PipelineSettings.FromConfig(hocon);
        return o.UnloadTextEncoder ? settings with { UnloadTextEncoderAfterUse = true } : settings;
    }

    public static async Task<int> RunAsync(GenerateOptions o, TextWriter stdout, TextWriter stderr, CancellationToken ct = default)
    {
        try
        {
            if (o.Prompts.Length == 0) throw new ArgumentException("give at least one --prompt");
            var hocon = PipelineHocon.Load(o.ConfigPath);
            var settings = Settings(o, hocon);
            bool tiny = EngineFactory.IsTiny(o.Weights);
            WeightFiles.Validate(o.Weights); // before anything is created or loaded (Build checks again: milliseconds)
            Directory.CreateDirectory(o.OutDir);
            using var metrics = o.MetricsPort is int port ? new Prometheus.MetricServer("localhost", port).Start() : null;
            using var engines = EngineFactory.Build(o.Weights, settings, stderr);
            using var system = ActorSystem.Create("selfforcing", hocon);
            var pipeline = SelfForcingPipeline.Start(system, settings, engines);
            int? side = EngineFactory.DefaultLatentSide(o.Weights);
            int height = o.LatentHeight ?? side ?? settings.DefaultLatentHeight;
            int width = o.LatentWidth ?? side ?? settings.DefaultLatentWidth;
            string decoder = o.Decoder ?? EngineFactory.DefaultDecoder(o.Weights);
            for (int i = 0; i < o.Prompts.Length; i++)
            {
                var request = new StreamRequest(o.Prompts[i], o.Seed, o.Chunks, o.Fps, decoder, height, width);
                var handle = await pipeline.StartAsync(request);
                var file = Path.Combine(o.OutDir, FileName(o.Prompts[i], i, tiny && !EngineFactory.IsWorld(o.Weights)));
                stdout.WriteLine($"[{i + 1}/{o.Prompts.Length}] \"{o.Prompts[i]}\" seed {handle.Seed} → {file}");
                await WriteStream(handle, file, o.Fps, o.Chunks, stdout, ct);
            }
            await system.Terminate();
            return 0;
        }
        catch (WeightFilesException e)
        {
            foreach (var problem in e.Problems) stderr.WriteLine($"error: {problem}");
            return 1;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException or StreamFailedException
                                     or Model.Checkpoints.CheckpointFormatException or InvalidDataException or NotSupportedException or OperationCanceledException)
        {
            stderr.WriteLine($"error: {e.Message.ReplaceLineEndings(" ")}");
            return 1;
        }
    }

    private static async Task WriteStream(StreamHandle handle, string file, int fps, int chunks, TextWriter stdout, CancellationToken ct)
    {
        Mp4Writer? writer = null;
        var clock = Stopwatch.StartNew();
        var progress = new ProgressBar(stdout, chunks);
        try
        {
            await foreach (var chunk in handle.ReadAllAsync(ct))
            {
                writer ??= Mp4Writer.Open(file, chunk.Width, chunk.Height, fps);
                await writer.WriteAsync(chunk.Rgb, chunk.Frames, ct);
                progress.Report(chunk.Chunk + 1, writer.FramesWritten, clock.Elapsed);
            }
            if (writer is null) throw new InvalidOperationException("the stream produced no frames");
            await writer.CloseAsync();
            progress.Done();
            stdout.WriteLine($"    wrote {writer.FramesWritten} frames ({writer.Width}x{writer.Height}, {fps} fps) in {clock.Elapsed.TotalSeconds:F1}s");
        }
        catch (OperationCanceledException)
        {
            handle.Cancel();
            throw;
        }
        finally
        {
            if (writer is not null) await writer.DisposeAsync();
        }
    }

    /// <summary>First 100 characters of the prompt (as the reference names files), made safe for file systems.</summary>
    public static string FileName(string prompt, int index, bool tiny)
    {
        var safe = new string(prompt.Take(100).Select(c => char.IsLetterOrDigit(c) || c is ' ' or '-' or '_' or '.' ? c : '_').ToArray()).Trim().Trim('.');
        if (safe.Length == 0) safe = "prompt";
        return $"{safe}-{index}{(tiny ? "-tiny-noise" : "")}.mp4";
    }
}
