using System.CommandLine;
using SelfForcing.Actors.Engines;
using SelfForcing.Hosting.Output;
using SelfForcing.Hosting.Training;
using SelfForcing.World;
using SelfForcing.World.Evaluation;

namespace SelfForcing.Hosting.Commands;

/// <summary>
/// <c>selfforcing world-sample</c>: clips of held-out world captions from a model of the recipe (the teacher, an ODE-init or
/// DMD checkpoint, or the shipped world model), written as world_SEED.mp4 + .txt for <c>eval-world</c>; prints the
/// evaluator's accuracy over them as it goes.
/// </summary>
public static class WorldSampleCommand
{
    public static Command Create(TextWriter? stdout = null, TextWriter? stderr = null)
    {
        var outDir = new Option<string>("--out") { DefaultValueFactory = _ => "world-samples" };
        var teacher = new Option<string?>("--teacher") { Description = "a train teacher folder (ODE sampler with CFG)" };
        var checkpoint = new Option<string?>("--checkpoint") { Description = "a train ode-init or DMD checkpoint folder (the causal student)" };
        var noEma = new Option<bool>("--no-ema") { Description = "with --checkpoint: the generator, not generator_ema" };
        var world = new Option<string?>("--world") { Description = "a world model file (default: the shipped one)" };
        var count = new Option<int>("--count") { DefaultValueFactory = _ => 200 };
        var seed = new Option<long>("--seed") { Description = "world seed of the first caption (and noise seed); training used seeds below 1,000,000", DefaultValueFactory = _ => 9_000_000 };
        var chunks = new Option<int>("--chunks") { Description = "chunks (3 frames each) to keep", DefaultValueFactory = _ => 3 };
        var skip = new Option<int>("--skip-chunks") { Description = "chunks generated before the kept ones (a window late in one stream)" };
        var guidance = new Option<double>("--guidance-scale") { Description = "with --teacher: classifier-free guidance", DefaultValueFactory = _ => 3.0 };
        var odeSteps = new Option<int>("--ode-steps") { Description = "with --teacher: Euler steps", DefaultValueFactory = _ => 24 };
        var vae = new Option<string?>("--vae") { Description = "with --teacher or --checkpoint: the train world-vae file the model's latents came from" };
        var text = new Option<string?>("--text") { Description = "with --teacher or --checkpoint: the train world-text file its captions were encoded with (default: the frozen seed-0 encoder)" };
        var match = new Option<string?>("--match") { Description = "only held-out captions containing these words (e.g. \"a red square\"); --count counts those" };
        var cmd = new Command("world-sample", "Clips of held-out captions from a tiny-world model, for eval-world.")
        {
            outDir, teacher, checkpoint, noEma, world, count, seed, chunks, skip, guidance, odeSteps, match, vae, text,
        };
        cmd.SetAction(async (p, ct) =>
        {
            var o = stdout ?? Console.Out;
            try
            {
                // Whole words, in order: " red square " is in " a red square moves left ", " red squ " is not.
                static string Spaced(string text) => " " + string.Join(' ', CaptionGrammar.Words(text)) + " ";
                string? filter = p.GetValue(match);
                int wantedClips = p.GetValue(count);
                if (filter is not null)
                {
                    var words = CaptionGrammar.Words(filter);
                    if (words.Length == 0) throw new ArgumentException("--match needs at least one word");
                    var unknown = words.Where(w => !WorldVocabulary.Words.Contains(w)).ToList();
                    if (unknown.Count > 0) throw new ArgumentException($"--match: no caption has the word(s) {string.Join(", ", unknown.Select(w => $"'{w}'"))}");
                }
                var wanted = filter is null ? null : Spaced(filter);
                var vaeFile = p.GetValue(vae);
                var textFile = p.GetValue(text);
                if (vaeFile is not null && p.GetValue(teacher) is null && p.GetValue(checkpoint) is null)
                    throw new ArgumentException("--vae goes with --teacher or --checkpoint (a world model file carries its own decoder)");
                if (textFile is not null && p.GetValue(teacher) is null && p.GetValue(checkpoint) is null)
                    throw new ArgumentException("--text goes with --teacher or --checkpoint (a world model file carries its own text encoder)");
                using var sampler = p.GetValue(teacher) is { } t ? WorldClipSampler.FromTeacher(t, p.GetValue(guidance), p.GetValue(odeSteps), vae: vaeFile, text: textFile)
                    : p.GetValue(checkpoint) is { } c ? WorldClipSampler.FromCheckpoint(c, !p.GetValue(noEma), vae: vaeFile, text: textFile)
                    : WorldClipSampler.FromWorldFile(p.GetValue(world) ?? WorldModelFile.DefaultPath);
                var dir = p.GetValue(outDir)!;
                Directory.CreateDirectory(dir);
                var evaluator = new WorldEvaluator();
                var accuracy = new WorldAccuracy();
                long first = p.GetValue(seed), end = first + wantedClips;
                // A filter looks further: a seed whose caption does not match costs nothing, so the window grows until
                // --count captions matched; a filter no caption of the grammar can match stops after 1,000 per clip asked.
                for (long s = first, matched = 0; s < end; s++)
                {
                    var caption = WorldClipSampler.Caption(s);
                    if (wanted is not null)
                    {
                        if (!Spaced(caption).Contains(wanted, StringComparison.Ordinal))
                        {
                            if (s - first >= 1000L * wantedClips)
                                throw new ArgumentException($"--match \"{filter}\": {matched} of {wantedClips} captions found in {s - first + 1} held-out seeds");
                            end++;
                            continue;
                        }
                        matched++;
                    }
                    var frames = sampler.Sample(caption, s, p.GetValue(chunks), p.GetValue(skip));
                    accuracy.Add(WorldScore.Of(CaptionGrammar.Parse(caption), evaluator.Observe(frames)));
                    var file = Path.Combine(dir, WorldCommand.ClipName(s) + ".mp4");
                    var big = frames.Upscale(2);
                    await using (var writer = Mp4Writer.Open(file, big.Width, big.Height, WorldVideo.Fps))
                    {
                        await writer.WriteAsync(big.Data, big.Count, ct);
                        await writer.CloseAsync();
                    }
                    await File.WriteAllTextAsync(Path.ChangeExtension(file, ".txt"), caption + "\n", ct);
                }
                o.WriteLine($"{accuracy.Clips} clips (raw frames, before mp4)");
                foreach (var line in accuracy.Lines()) o.WriteLine(line);
                return 0;
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException or InvalidDataException)
            {
                (stderr ?? Console.Error).WriteLine($"error: {e.Message}");
                return 1;
            }
        });
        return cmd;
    }
}
