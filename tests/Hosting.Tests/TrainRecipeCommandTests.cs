using System.Security.Cryptography;
using SelfForcing.Hosting.Training;
using SelfForcing.Model.Checkpoints;
using SelfForcing.Model.Dit;
using SelfForcing.Training.Ode;
using SelfForcing.World;
using static TorchSharp.torch;

namespace SelfForcing.Hosting.Tests;

/// <summary><c>selfforcing train teacher | ode-pairs | ode-init | word-probe</c>: the recipe's first stages chained through their files, and the teacher's word probe.</summary>
public sealed class TrainRecipeCommandTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("sf-train-recipe-");

    private string P(string name) => Path.Combine(_dir.FullName, name);

    private static (int Rc, string Out, string Err) Train(params string[] args)
    {
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        int rc = Cli.Run(["train", .. args], stdout, stderr);
        return (rc, stdout.ToString(), stderr.ToString());
    }

    private void WriteData()
    {
        using var scope = NewDisposeScope();
        var gen = new Generator(3);
        var c = WanConfig.Tiny;
        SafeTensorsWriter.Write(P("data.safetensors"), new Dictionary<string, Tensor>
        {
            ["latents"] = randn([4, 3, c.InDim, 4, 4], generator: gen), ["prompt_embeds"] = randn([4, c.TextLen, c.TextDim], generator: gen),
            ["negative_prompt_embeds"] = zeros([1, c.TextLen, c.TextDim]),
        });
        SafeTensorsWriter.Write(P("prompts.safetensors"), new Dictionary<string, Tensor>
        {
            ["prompt_embeds"] = randn([3, c.TextLen, c.TextDim], generator: gen), ["negative_prompt_embeds"] = zeros([1, c.TextLen, c.TextDim]),
        });
    }

    [Fact]
    public void Teacher_then_ode_pairs_then_ode_init_write_files_the_next_stage_reads()
    {
        WriteData();
        var teacher = Train("teacher", "--data", P("data.safetensors"), "--out", P("teacher"), "--steps", "3", "--batch-size", "2",
            "--condition-dropout", "0.2", "--gradient-checkpointing");
        Assert.True(teacher.Rc == 0, teacher.Err);
        Assert.Equal(3, teacher.Out.Split('\n').Count(l => l.StartsWith("teacher step ", StringComparison.Ordinal)));
        Assert.Equal(3, File.ReadAllLines(P("teacher/" + TeacherRun.MetricsFile)).Length);
        using (var loaded = RecipeFiles.LoadTeacher(P("teacher"))) Assert.Equal(WanConfig.Tiny.Dim, loaded.Config.Dim);

        string[] pairArgs = ["ode-pairs", "--teacher", P("teacher"), "--prompts", P("prompts.safetensors"), "--frames", "3", "--ode-steps", "8", "--seed", "4"];
        var pairs = Train([.. pairArgs, "--out", P("pairs.safetensors")]);
        Assert.True(pairs.Rc == 0, pairs.Err);
        var again = Train([.. pairArgs, "--out", P("pairs2.safetensors"), "--batch-size", "3"]);
        Assert.True(again.Rc == 0, again.Err);
        Assert.Equal(SHA256.HashData(File.ReadAllBytes(P("pairs.safetensors"))), SHA256.HashData(File.ReadAllBytes(P("pairs2.safetensors"))));
        using (var file = OdePairs.Load(P("pairs.safetensors")))
        {
            Assert.Equal(new long[] { 3, 5, 3, 16, 4, 4 }, file.OdeLatent.shape);
            Assert.Equal(4, file.TimestepValues.Length);
        }

        var init = Train("ode-init", "--pairs", P("pairs.safetensors"), "--init-from", P("teacher"), "--out", P("student"), "--steps", "2",
            "--batch-size", "2", "--save-every", "1", "--mixed-precision");
        Assert.True(init.Rc == 0, init.Err);
        foreach (var step in new[] { 1, 2 })
        {
            var folder = TinyDmdRun.CheckpointFolder(P("student"), step);
            using var pt = StateDict.Open(Path.Combine(folder, "model.pt"));
            Assert.Equal(["generator"], pt.Groups());
            Assert.True(File.Exists(Path.Combine(folder, "generator.safetensors")) && File.Exists(Path.Combine(folder, RecipeFiles.ConfigFile)));
        }
    }

    [Fact]
    public void Max_seconds_stops_teacher_and_ode_init_early_and_saves_what_they_have()
    {
        WriteData();
        // A limit every step passes: each run stops after its first step, saves, and says why.
        var teacher = Train("teacher", "--data", P("data.safetensors"), "--out", P("teacher"), "--steps", "50", "--batch-size", "2",
            "--max-seconds", "1e-6", "--shift", "3");
        Assert.True(teacher.Rc == 0, teacher.Err);
        Assert.Single(File.ReadAllLines(P("teacher/" + TeacherRun.MetricsFile)));
        Assert.Contains("stopping after step 1 of 50: --max-seconds", teacher.Out);
        Assert.True(File.Exists(P("teacher/" + RecipeFiles.TeacherWeights)));

        var pairs = Train("ode-pairs", "--teacher", P("teacher"), "--prompts", P("prompts.safetensors"), "--frames", "3", "--ode-steps", "4",
            "--out", P("pairs.safetensors"), "--device", "cpu");
        Assert.True(pairs.Rc == 0, pairs.Err);
        var init = Train("ode-init", "--pairs", P("pairs.safetensors"), "--init-from", P("teacher"), "--out", P("student"), "--steps", "50",
            "--batch-size", "2", "--save-every", "25", "--max-seconds", "1e-6");
        Assert.True(init.Rc == 0, init.Err);
        Assert.Contains("stopping after step 1 of 50", init.Out);
        Assert.True(File.Exists(Path.Combine(TinyDmdRun.CheckpointFolder(P("student"), 1), "generator.safetensors")));
    }

    [Fact]
    public void Timestep_shift_changes_what_the_teacher_learns_from()
    {
        WriteData();
        string[] common = ["teacher", "--data", P("data.safetensors"), "--steps", "2", "--batch-size", "2", "--seed", "5"];
        Assert.Equal(0, Train([.. common, "--out", P("s5")]).Rc);
        Assert.Equal(0, Train([.. common, "--out", P("s1"), "--shift", "1"]).Rc);
        static double[] Timesteps(string dir) => File.ReadAllLines(Path.Combine(dir, TeacherRun.MetricsFile))
            .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("mean_timestep").GetDouble()).ToArray();
        // The same uniform draws through a grid with less shift land on lower timesteps.
        Assert.All(Timesteps(P("s1")).Zip(Timesteps(P("s5"))), p => Assert.True(p.First < p.Second, $"{p.First} vs {p.Second}"));
    }

    [Fact]
    public void Foreground_weight_changes_the_teachers_loss_and_a_bad_one_is_refused()
    {
        WriteData();
        string[] common = ["teacher", "--data", P("data.safetensors"), "--steps", "2", "--batch-size", "2", "--seed", "5"];
        Assert.Equal(0, Train([.. common, "--out", P("plain")]).Rc);
        var r = Train([.. common, "--out", P("fg"), "--foreground-weight", "4"]);
        Assert.True(r.Rc == 0, r.Err);
        Assert.Contains("foreground weight 4: backgrounds of", r.Out);
        static double FirstLoss(string dir) => System.Text.Json.JsonDocument.Parse(File.ReadLines(Path.Combine(dir, TeacherRun.MetricsFile)).First())
            .RootElement.GetProperty("loss").GetDouble();
        // The same seed draws the same noise and timesteps: only the weighting of the positions differs.
        Assert.NotEqual(FirstLoss(P("plain")), FirstLoss(P("fg")), 6);

        var bad = Train([.. common, "--out", P("bad"), "--foreground-weight", "-1"]);
        Assert.Equal(1, bad.Rc);
        Assert.Contains("--foreground-weight", bad.Err);
        Assert.False(File.Exists(P("bad/" + RecipeFiles.TeacherWeights)));
    }

    [Fact]
    public void Teacher_continues_from_a_teacher_on_shorter_clips_with_a_moving_average_and_a_cosine_rate()
    {
        WriteData();
        Assert.Equal(0, Train("teacher", "--data", P("data.safetensors"), "--out", P("first"), "--steps", "2", "--batch-size", "2").Rc);
        var r = Train("teacher", "--data", P("data.safetensors"), "--init-from", P("first"), "--out", P("second"), "--steps", "4",
            "--batch-size", "2", "--frames", "2", "--ema", "0.5", "--lr-schedule", "cosine", "--lr", "1e-3");
        Assert.True(r.Rc == 0, r.Err);
        Assert.Contains("teacher starts from", r.Out);

        var rates = File.ReadAllLines(P("second/" + TeacherRun.MetricsFile))
            .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("lr").GetDouble()).ToArray();
        Assert.Equal(1e-3, rates[0], 12);
        Assert.True(rates.Zip(rates.Skip(1)).All(p => p.Second < p.First), string.Join(", ", rates));
        Assert.Equal(1e-3 * 0.5 * (1 + Math.Cos(Math.PI * 3 / 4)), rates[3], 12);

        // The saved teacher is the average: between where training started and where its raw weights ended, not either.
        using var scope = NewDisposeScope();
        using var start = StateDict.Open(P("first/" + RecipeFiles.TeacherWeights));
        using var raw = StateDict.Open(P("second/" + TeacherRun.RawWeights));
        using var ema = StateDict.Open(P("second/" + RecipeFiles.TeacherWeights));
        const string key = "head.head.weight";
        var (s0, s1, avg) = (start.Load(key), raw.Load(key), ema.Load(key));
        Assert.False(avg.allclose(s0) || avg.allclose(s1));
        Assert.True((avg - s1).abs().max().item<float>() < (s0 - s1).abs().max().item<float>());
        using (var loaded = RecipeFiles.LoadTeacher(P("second"))) Assert.Equal(WanConfig.Tiny.Dim, loaded.Config.Dim);

        var tooLong = Train("teacher", "--data", P("data.safetensors"), "--out", P("t"), "--steps", "1", "--frames", "9");
        Assert.Equal(1, tooLong.Rc);
        Assert.Contains("--frames 9 is more than the 3 frames", tooLong.Err);
        var strided = Train("teacher", "--data", P("data.safetensors"), "--out", P("strided"), "--steps", "1", "--batch-size", "2", "--frame-stride", "2");
        Assert.True(strided.Rc == 0, strided.Err);
        var tooLongStrided = Train("teacher", "--data", P("data.safetensors"), "--out", P("t"), "--steps", "1", "--frames", "3", "--frame-stride", "2");
        Assert.Equal(1, tooLongStrided.Rc);
        Assert.Contains("--frames 3 is more than the 2 frames that --frame-stride 2 leaves", tooLongStrided.Err);
        var zeroStride = Train("teacher", "--data", P("data.safetensors"), "--out", P("t"), "--steps", "1", "--frame-stride", "0");
        Assert.Equal(1, zeroStride.Rc);
        Assert.Contains("--frame-stride 0", zeroStride.Err);
        var schedule = Train("teacher", "--data", P("data.safetensors"), "--out", P("t"), "--steps", "1", "--lr-schedule", "linear");
        Assert.Equal(1, schedule.Rc);
        Assert.Contains("--lr-schedule must be constant or cosine", schedule.Err);
        var weighting = Train("teacher", "--data", P("data.safetensors"), "--out", P("t"), "--steps", "1", "--loss-weight", "median");
        Assert.Equal(1, weighting.Rc);
        Assert.Contains("--loss-weight must be reference or uniform", weighting.Err);
    }

    [Fact]
    public void Uniform_loss_weight_trains_on_the_same_draws_with_a_different_loss()
    {
        WriteData();
        string[] common = ["teacher", "--data", P("data.safetensors"), "--steps", "2", "--batch-size", "2", "--seed", "5"];
        Assert.Equal(0, Train([.. common, "--out", P("ref")]).Rc);
        var r = Train([.. common, "--out", P("uni"), "--loss-weight", "uniform"]);
        Assert.True(r.Rc == 0, r.Err);
        static (double T, double Loss) First(string dir)
        {
            var e = System.Text.Json.JsonDocument.Parse(File.ReadLines(Path.Combine(dir, TeacherRun.MetricsFile)).First()).RootElement;
            return (e.GetProperty("mean_timestep").GetDouble(), e.GetProperty("loss").GetDouble());
        }
        var (a, b) = (First(P("ref")), First(P("uni")));
        Assert.Equal(a.T, b.T, 6);
        Assert.NotEqual(a.Loss, b.Loss);
    }

    [Fact]
    public void Frame_stride_keeps_every_kth_frame_from_the_first_then_frames_counts_them()
    {
        using var scope = NewDisposeScope();
        var clips = arange(2 * 7, ScalarType.Float32).reshape(2, 7, 1, 1, 1);
        var picked = RecipeFiles.FirstFrames(clips, 2, "clips", stride: 3);
        Assert.Equal(new float[] { 0, 3, 7, 10 }, picked.flatten().data<float>().ToArray());
        Assert.Equal(new float[] { 0, 3, 6, 7, 10, 13 }, RecipeFiles.FirstFrames(clips, 0, "clips", stride: 3).flatten().data<float>().ToArray());
        Assert.Same(clips, RecipeFiles.FirstFrames(clips, 0, "clips"));
        Assert.Contains("--frames 4", Assert.Throws<ArgumentException>(() => RecipeFiles.FirstFrames(clips, 4, "clips", stride: 3)).Message);
    }

    [Fact]
    public void Unavailable_device_is_a_clear_error()
    {
        WriteData();
        var r = Train("teacher", "--data", P("data.safetensors"), "--out", P("t"), "--steps", "1", "--device", "cuda:7");
        Assert.Equal(1, r.Rc);
        Assert.Contains("cuda:7", r.Err);
    }

    [Fact]
    public void Missing_tensors_are_reported()
    {
        using (var scope = NewDisposeScope())
            SafeTensorsWriter.Write(P("bad.safetensors"), new Dictionary<string, Tensor> { ["latents"] = zeros([1, 3, 16, 4, 4]) });
        var r = Train("teacher", "--data", P("bad.safetensors"), "--out", P("t"), "--steps", "1");
        Assert.Equal(1, r.Rc);
        Assert.Contains("prompt_embeds", r.Err);
    }

    [Fact]
    public void World_data_draws_from_the_speeds_and_lead_given_and_refuses_a_world_they_do_not_fit()
    {
        var r = Train("world-data", "--out", P("fast.safetensors"), "--count", "3", "--seed", "5", "--frames", "9",
            "--slow-speed", "0.04", "--fast-speed", "0.07", "--lead-frames", "8");
        Assert.True(r.Rc == 0, r.Err);
        var world = WorldSettings.Default with { Frames = 9, SlowSpeed = 0.04, FastSpeed = 0.07, LeadFrames = 8 };
        using (var scope = NewDisposeScope())
        using (var file = SafeTensorsFile.Open(P("fast.safetensors")))
        {
            Assert.Equal("0.07", file.Metadata["fast_speed"]);
            Assert.Equal("0.04", file.Metadata["slow_speed"]);
            Assert.Equal("8", file.Metadata["lead_frames"]);
            var latents = RecipeFiles.ReadTensors(P("fast.safetensors"), ["latents"])["latents"];
            for (int i = 0; i < 3; i++)
            {
                var video = WorldVideo.Sample(world, 5 + i);
                Assert.Equal(CaptionGrammar.Render(video.Caption), file.Metadata["captions"].Split('\n')[i]);
                Assert.True(WorldLatents.Encode(video.Frames).allclose(latents[i], rtol: 0, atol: 0), $"clip {i} is not the given world's");
                // The default world's objects move at most 1/32 of the width a frame; these at least 0.04 of it.
                Assert.All(video.Scene.Objects, o => Assert.True(o.PixelsPerFrame >= 0.04 * world.Width - 1e-9));
            }
        }

        // Fast objects travelling 10 frames at 0.07 do not fit between the walls: refused before anything is written, naming the flags.
        var bad = Train("world-data", "--out", P("bad.safetensors"), "--count", "1", "--fast-speed", "0.07", "--lead-frames", "10");
        Assert.Equal(1, bad.Rc);
        Assert.Contains("--lead-frames 10", bad.Err);
        Assert.Contains("--fast-speed 0.07", bad.Err);
        Assert.False(File.Exists(P("bad.safetensors")));
        var slower = Train("world-data", "--out", P("bad.safetensors"), "--count", "1", "--slow-speed", "0.05", "--fast-speed", "0.04");
        Assert.Equal(1, slower.Rc);
        Assert.Contains("fast > slow", slower.Err);
    }

    [Fact]
    public void World_data_draws_two_objects_as_often_as_asked_and_refuses_odds_outside_0_to_1()
    {
        var r = Train("world-data", "--out", P("pairs-only.safetensors"), "--count", "6", "--seed", "11", "--frames", "3", "--two-object-odds", "1");
        Assert.True(r.Rc == 0, r.Err);
        var world = WorldSettings.Default with { Frames = 3, TwoObjectOdds = 1 };
        using (var file = SafeTensorsFile.Open(P("pairs-only.safetensors")))
        {
            Assert.Equal("1", file.Metadata["two_object_odds"]);
            var captions = file.Metadata["captions"].Split('\n');
            for (int i = 0; i < 6; i++)
            {
                var video = WorldVideo.Sample(world, 11 + i);
                Assert.Equal(2, video.Scene.Objects.Count);
                Assert.Equal(CaptionGrammar.Render(video.Caption), captions[i]);
            }
        }
        // Without the flag the default odds draw the same clips as before the flag existed.
        Assert.Equal(0, Train("world-data", "--out", P("default-odds.safetensors"), "--count", "6", "--seed", "11", "--frames", "3").Rc);
        using (var file = SafeTensorsFile.Open(P("default-odds.safetensors")))
        {
            Assert.Equal(WorldSettings.Default.TwoObjectOdds.ToString("R", System.Globalization.CultureInfo.InvariantCulture), file.Metadata["two_object_odds"]);
            var captions = file.Metadata["captions"].Split('\n');
            for (int i = 0; i < 6; i++)
                Assert.Equal(CaptionGrammar.Render(WorldVideo.Sample(WorldSettings.Default with { Frames = 3 }, 11 + i).Caption), captions[i]);
        }

        var bad = Train("world-data", "--out", P("bad.safetensors"), "--count", "1", "--two-object-odds", "1.5");
        Assert.Equal(1, bad.Rc);
        Assert.Contains("--two-object-odds 1.5", bad.Err);
        Assert.Contains("two-object odds (1.5)", bad.Err);
        Assert.False(File.Exists(P("bad.safetensors")));
    }

    [Fact]
    public void World_vae_learns_the_worlds_frames_and_world_data_encodes_through_it()
    {
        var r = Train("world-vae", "--out", P("vae.safetensors"), "--count", "6", "--frames", "3", "--steps", "80", "--batch-size", "8", "--seed", "1");
        Assert.True(r.Rc == 0, r.Err);
        Assert.Contains("world-vae step 80/80", r.Out);
        using (var file = SafeTensorsFile.Open(P("vae.safetensors"))) Assert.Equal(WorldAutoencoder.Kind, file.Metadata["kind"]);
        var world = WorldSettings.Default with { Frames = 3 };
        using (var scope = NewDisposeScope())
        {
            using var trained = WorldAutoencoder.Load(P("vae.safetensors"));
            manual_seed(12);
            using var untrained = new WorldAutoencoder();
            untrained.eval();
            double before = WorldVaeRun.HeldOutError(untrained, world, 2).Mean, after = WorldVaeRun.HeldOutError(trained, world, 2).Mean;
            Assert.True(after < 0.6 * before, $"80 steps did not learn the frames: held-out error {after:F3}, untrained {before:F3}");

            var data = Train("world-data", "--out", P("vae-data.safetensors"), "--count", "2", "--seed", "40", "--frames", "3", "--vae", P("vae.safetensors"));
            Assert.True(data.Rc == 0, data.Err);
            using var file = SafeTensorsFile.Open(P("vae-data.safetensors"));
            Assert.Equal("world-vae vae.safetensors", file.Metadata["latent_map"]);
            var latents = RecipeFiles.ReadTensors(P("vae-data.safetensors"), ["latents"])["latents"];
            Assert.Equal([2, 3, 16, 8, 8], latents.shape);
            using var noGrad = no_grad();
            var expected = trained.Encode(WorldLatents.Pixels(WorldVideo.Sample(world, 41).Frames));
            Assert.True(expected.allclose(latents[1], rtol: 1e-5, atol: 1e-5), "clip 1 is not its frames through the VAE's encoder");
        }

        var bad = Train("world-vae", "--out", P("bad.safetensors"), "--kl-weight", "-1");
        Assert.Equal(1, bad.Rc);
        Assert.Contains("--kl-weight", bad.Err);
        var missing = Train("world-data", "--out", P("bad.safetensors"), "--count", "1", "--vae", P("none.safetensors"));
        Assert.Equal(1, missing.Rc);
        Assert.Contains("none.safetensors", missing.Err);
        Assert.False(File.Exists(P("bad.safetensors")));
    }

    [Fact]
    public void World_vae_decoder_from_trains_only_the_decoder_so_data_made_with_the_encoder_still_fits()
    {
        var b = Train("world-vae", "--out", P("base.safetensors"), "--count", "6", "--frames", "3", "--steps", "30", "--batch-size", "8", "--seed", "1");
        Assert.True(b.Rc == 0, b.Err);
        var d = Train("world-vae", "--decoder-from", P("base.safetensors"), "--decoder-noise", "0.5", "--out", P("decoder.safetensors"),
            "--count", "6", "--frames", "3", "--steps", "30", "--batch-size", "8", "--seed", "2");
        Assert.True(d.Rc == 0, d.Err);
        Assert.Contains("its encoder and latent statistics stay", d.Out);
        using (var before = SafeTensorsFile.Open(P("base.safetensors")))
        using (var after = SafeTensorsFile.Open(P("decoder.safetensors")))
        {
            Assert.Equal("base.safetensors", after.Metadata["decoder_from"]);
            Assert.Equal("0.5", after.Metadata["decoder_noise"]);
            Assert.Equal(before.Entries.Keys.Order(), after.Entries.Keys.Order());
            int decoderChanged = 0;
            foreach (var name in before.Entries.Keys)
            {
                using var x = before.Load(name);
                using var y = after.Load(name);
                bool same = x.eq(y).all().item<bool>();
                if (name.StartsWith("decoder.", StringComparison.Ordinal)) decoderChanged += same ? 0 : 1;
                else Assert.True(same, $"{name} changed: only the decoder may train on");
            }
            Assert.True(decoderChanged > 0, "no decoder tensor changed in 30 steps");
        }

        var noFrom = Train("world-vae", "--out", P("bad.safetensors"), "--decoder-noise", "0.5");
        Assert.Equal(1, noFrom.Rc);
        Assert.Contains("--decoder-from", noFrom.Err);
        var missing = Train("world-vae", "--out", P("bad.safetensors"), "--decoder-from", P("none.safetensors"));
        Assert.Equal(1, missing.Rc);
        Assert.Contains("none.safetensors", missing.Err);
        var negative = Train("world-vae", "--out", P("bad.safetensors"), "--decoder-from", P("base.safetensors"), "--decoder-noise", "-1");
        Assert.Equal(1, negative.Rc);
        Assert.Contains("--decoder-noise", negative.Err);
        Assert.False(File.Exists(P("bad.safetensors")));
    }

    [Fact]
    public void World_vae_shape_code_teaches_the_encoder_to_write_which_shape_covers_each_cell()
    {
        string[] common = ["--count", "6", "--frames", "3", "--steps", "60", "--batch-size", "8", "--seed", "1"];
        var coded = Train(["world-vae", "--out", P("coded.safetensors"), "--shape-code", "20", .. common]);
        Assert.True(coded.Rc == 0, coded.Err);
        Assert.Contains("shape code (latent channels 13-15)", coded.Out);
        var plain = Train(["world-vae", "--out", P("plain.safetensors"), .. common]);
        Assert.True(plain.Rc == 0, plain.Err);
        using (var file = SafeTensorsFile.Open(P("coded.safetensors"))) Assert.Equal("20", file.Metadata["shape_code"]);
        using (var file = SafeTensorsFile.Open(P("plain.safetensors"))) Assert.Equal("0", file.Metadata["shape_code"]);

        // The same seed, data and steps: only the code term differs, so the error it leaves is what it taught.
        var world = WorldSettings.Default with { Frames = 3 };
        using var withCode = WorldAutoencoder.Load(P("coded.safetensors"));
        using var without = WorldAutoencoder.Load(P("plain.safetensors"));
        var taught = WorldVaeRun.ShapeCodeFit(withCode, world, 4);
        var untaught = WorldVaeRun.ShapeCodeFit(without, world, 4);
        Assert.True(taught.Cells > 0);
        Assert.True(taught.SquaredError < 0.5 * untaught.SquaredError,
            $"the code term did not teach the code: squared error {taught.SquaredError:G3} with it, {untaught.SquaredError:G3} without");

        var negative = Train("world-vae", "--out", P("bad.safetensors"), "--shape-code", "-1");
        Assert.Equal(1, negative.Rc);
        Assert.Contains("--shape-code", negative.Err);
        var both = Train("world-vae", "--out", P("bad.safetensors"), "--shape-code", "5", "--decoder-from", P("coded.safetensors"));
        Assert.Equal(1, both.Rc);
        Assert.Contains("--shape-code", both.Err);
        Assert.False(File.Exists(P("bad.safetensors")));
    }

    [Fact]
    public void World_vae_decoder_code_noise_makes_the_decoder_draw_from_the_shape_code()
    {
        string[] small = ["--count", "6", "--frames", "3", "--batch-size", "8"];
        Assert.Equal(0, Train(["world-vae", "--out", P("coded.safetensors"), "--shape-code", "20", "--steps", "60", "--seed", "1", .. small]).Rc);
        // The same seed and noise draws; the code channels are left clean in one run only.
        var clean = Train(["world-vae", "--decoder-from", P("coded.safetensors"), "--decoder-noise", "3", "--decoder-code-noise", "0",
            "--out", P("clean-code.safetensors"), "--steps", "60", "--seed", "2", .. small]);
        Assert.True(clean.Rc == 0, clean.Err);
        var noisy = Train(["world-vae", "--decoder-from", P("coded.safetensors"), "--decoder-noise", "3",
            "--out", P("noisy-code.safetensors"), "--steps", "60", "--seed", "2", .. small]);
        Assert.True(noisy.Rc == 0, noisy.Err);
        using (var file = SafeTensorsFile.Open(P("clean-code.safetensors"))) Assert.Equal("0", file.Metadata["decoder_code_noise"]);
        using (var file = SafeTensorsFile.Open(P("noisy-code.safetensors"))) Assert.Equal("3", file.Metadata["decoder_code_noise"]);

        // How far the drawing moves when the code channels are emptied: the decoder that saw them clean leans on them.
        double Reliance(string file)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            using var vae = WorldAutoencoder.Load(file);
            var latents = vae.Encode(WorldLatents.Unit(WorldVaeRun.Frames(WorldSettings.Default with { Frames = 3 }, WorldVaeRun.HeldOutSeed, 4)));
            var blank = latents.clone();
            blank.narrow(1, WorldShapeCode.FirstChannel, WorldShapeCode.Channels).zero_();
            return vae.Decode(latents).sub(vae.Decode(blank)).abs().mean().item<float>();
        }
        double leans = Reliance(P("clean-code.safetensors")), barely = Reliance(P("noisy-code.safetensors"));
        Assert.True(leans > 1.5 * barely, $"emptying the code moved the clean-code decoder's pixels by {leans:G3}, the other's by {barely:G3}");

        var negative = Train("world-vae", "--out", P("bad.safetensors"), "--decoder-from", P("coded.safetensors"), "--decoder-code-noise", "-1");
        Assert.Equal(1, negative.Rc);
        Assert.Contains("--decoder-code-noise", negative.Err);
        var noFrom = Train("world-vae", "--out", P("bad.safetensors"), "--decoder-code-noise", "0.5");
        Assert.Equal(1, noFrom.Rc);
        Assert.Contains("--decoder-from", noFrom.Err);
        Assert.False(File.Exists(P("bad.safetensors")));
    }

    [Fact]
    public void Word_probe_scores_each_word_kind_over_the_one_object_clips_and_refuses_data_of_another_encoder()
    {
        Assert.Equal(0, Train("world-data", "--out", P("held.safetensors"), "--count", "12", "--seed", "9000000", "--frames", "3").Rc);
        Assert.Equal(0, Train("teacher", "--data", P("held.safetensors"), "--model-config", "world", "--out", P("teacher"), "--steps", "1",
            "--batch-size", "2").Rc);

        var cli = Train("word-probe", "--teacher", P("teacher"), "--data", P("held.safetensors"), "--count", "4");
        Assert.True(cli.Rc == 0, cli.Err);
        foreach (var word in new[] { "colour", "shape", "direction" }) Assert.Contains(word, cli.Out);

        string[] captions;
        using (var file = SafeTensorsFile.Open(P("held.safetensors"))) captions = file.Metadata["captions"].Split('\n');
        int oneObject = Math.Min(4, captions.Count(c => CaptionGrammar.Parse(c).Objects.Count == 1));
        Assert.True(oneObject > 0);
        var options = new WordProbeRunOptions(P("teacher"), P("held.safetensors"), 4, Seed: 1);
        var scores = WordProbeRun.Run(options, TextWriter.Null);
        Assert.Equal(["colour", "shape", "direction"], scores.Select(s => s.Attribute));
        Assert.Equal([1 / 5.0, 1 / 3.0, 1 / 4.0], scores.Select(s => s.Chance));
        foreach (var s in scores)
        {
            Assert.Equal(oneObject, s.Total);
            Assert.InRange(s.Right, 0, s.Total);
            Assert.All(s.RightPerSigma, r => Assert.InRange(r, 0, s.Total));
        }
        // Same noise seed, same picks.
        var again = WordProbeRun.Run(options, TextWriter.Null);
        Assert.Equal(scores.Select(s => (s.Right, string.Join(",", s.RightPerSigma))), again.Select(s => (s.Right, string.Join(",", s.RightPerSigma))));

        // The first frame only (a teacher trained on still frames is probed on what it saw); more frames than the clips have: refused.
        var first = Train("word-probe", "--teacher", P("teacher"), "--data", P("held.safetensors"), "--count", "2", "--frames", "1");
        Assert.True(first.Rc == 0, first.Err);
        var everyOther = Train("word-probe", "--teacher", P("teacher"), "--data", P("held.safetensors"), "--count", "2", "--frames", "2", "--frame-stride", "2");
        Assert.True(everyOther.Rc == 0, everyOther.Err);
        var tooMany = Train("word-probe", "--teacher", P("teacher"), "--data", P("held.safetensors"), "--frames", "4");
        Assert.NotEqual(0, tooMany.Rc);
        Assert.Contains("--frames 4", tooMany.Err);

        // Chosen noise levels: one count per level, printed; a level outside (0, 1] or not a number is refused by name.
        var high = WordProbeRun.Run(options with { Sigmas = [0.9, 0.95, 0.98] }, TextWriter.Null);
        Assert.All(high, s => Assert.Equal(3, s.RightPerSigma.Count));
        var highCli = Train("word-probe", "--teacher", P("teacher"), "--data", P("held.safetensors"), "--count", "2", "--sigmas", "0.9, 0.98");
        Assert.True(highCli.Rc == 0, highCli.Err);
        Assert.Contains("0.98:", highCli.Out);
        Assert.DoesNotContain("0.2:", highCli.Out);
        foreach (var (bad, named) in new[] { ("1.5", "1.5"), ("0.9,0", "0.9,0"), ("0.9,high", "'high'") })
        {
            var refusedLevel = Train("word-probe", "--teacher", P("teacher"), "--data", P("held.safetensors"), "--sigmas", bad);
            Assert.NotEqual(0, refusedLevel.Rc);
            Assert.Contains(named, refusedLevel.Err);
            Assert.Contains("--sigmas", refusedLevel.Err);
        }

        // Embeddings another encoder made: the rivals would be encoded differently from the truth, so the probe refuses.
        using (var file = SafeTensorsFile.Open(P("held.safetensors")))
        using (var scope = NewDisposeScope())
        {
            var tensors = file.Entries.Keys.ToDictionary(k => k, k => file.Load(k));
            tensors["prompt_embeds"] = tensors["prompt_embeds"] * 0.05;
            SafeTensorsWriter.Write(P("other.safetensors"), tensors, file.Metadata.ToDictionary());
        }
        var refused = Train("word-probe", "--teacher", P("teacher"), "--data", P("other.safetensors"));
        Assert.NotEqual(0, refused.Rc);
        Assert.Contains("another encoder", refused.Err);
        var missing = Train("word-probe", "--teacher", P("teacher"), "--data", P("none.safetensors"));
        Assert.NotEqual(0, missing.Rc);
        Assert.Contains("none.safetensors", missing.Err);
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
