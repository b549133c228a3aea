using SelfForcing.Model.Checkpoints;
using SelfForcing.Model.Dit;
using static TorchSharp.torch;

namespace SelfForcing.Model.Tests.Dit;

public class WanCheckpointLoaderTests
{
    private const string TinyConfigJson = """
        {"_class_name": "WanModel", "_diffusers_version": "0.30.0", "dim": 48, "eps": 1e-06, "ffn_dim": 96, "freq_dim": 16,
         "in_dim": 16, "model_type": "t2v", "num_heads": 2, "num_layers": 2, "out_dim": 16, "text_len": 16, "text_dim": 32}
        """;

    [Fact]
    public void Loads_a_Wan_folder_and_ema_weights_on_top()
    {
        var folder = Directory.CreateTempSubdirectory("sf-wan-");
        try
        {
            File.WriteAllText(Path.Combine(folder.FullName, "config.json"), TinyConfigJson);
            using var source = new CausalWanModel(WanConfig.Tiny with { TextLen = 16 });
            source.InitializeRandom(1);
            var weights = source.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter.detach().clone());
            SafeTensorsWriter.Write(Path.Combine(folder.FullName, "diffusion_pytorch_model.safetensors"), weights);

            using var fromFolder = WanCheckpointLoader.LoadCausal(folder.FullName, null, useEma: false, CPU, ScalarType.Float32);
            foreach (var (name, p) in fromFolder.named_parameters())
                Assert.True(p.eq(weights[name]).all().item<bool>(), $"{name} differs after loading the folder");

            Assert.Equal(48, fromFolder.Config.Dim);

            // self_forcing_dmd.pt layout: generator / generator_ema / critic dicts with 'model.' keys and an int step.
            using var ema = new CausalWanModel(WanConfig.Tiny with { TextLen = 16 });
            ema.InitializeRandom(2);
            var emaWeights = ema.named_parameters().ToDictionary(p => "model." + p.name, p => (object)p.parameter.detach().clone());
            var regular = weights.ToDictionary(kv => "model." + kv.Key, kv => (object)kv.Value);
            var pt = Path.Combine(folder.FullName, "self_forcing_dmd.pt");
            Checkpoints.TorchZipTestWriter.Write(pt, new Dictionary<string, object> { ["generator"] = regular, ["generator_ema"] = emaWeights, ["step"] = 600 });

            using var fromEma = WanCheckpointLoader.LoadCausal(folder.FullName, pt, useEma: true, CPU, ScalarType.Float32);
            foreach (var (name, p) in fromEma.named_parameters())
                Assert.True(p.eq((Tensor)emaWeights["model." + name]).all().item<bool>(), $"{name}: EMA weights not loaded");
            using var fromRegular = WanCheckpointLoader.LoadCausal(folder.FullName, pt, useEma: false, CPU, ScalarType.BFloat16);
            foreach (var (name, p) in fromRegular.named_parameters())
            {
                Assert.Equal(ScalarType.BFloat16, p.dtype);
                Assert.True(p.eq(weights[name].to(ScalarType.BFloat16)).all().item<bool>(), $"{name}: generator weights not loaded");
            }
        }
        finally { folder.Delete(true); }
    }

    [Fact]
    public void Missing_generator_group_names_what_is_there()
    {
        var folder = Directory.CreateTempSubdirectory("sf-wan-");
        try
        {
            File.WriteAllText(Path.Combine(folder.FullName, "config.json"), TinyConfigJson);
            var ckpt = Path.Combine(folder.FullName, "sf.safetensors");
            SafeTensorsWriter.Write(ckpt, new Dictionary<string, Tensor> { ["critic.model.head.head.bias"] = zeros(64) });
            var ex = Assert.Throws<CheckpointFormatException>(() => WanCheckpointLoader.LoadCausal(folder.FullName, ckpt, true, CPU, ScalarType.Float32));
            Assert.Contains("generator_ema", ex.Message);
            Assert.Contains("critic", ex.Message);
        }
        finally { folder.Delete(true); }
    }

    private const string FullSizeConfigJson = """
        {"_class_name": "WanModel", "dim": 1536, "eps": 1e-06, "ffn_dim": 8960, "freq_dim": 256, "in_dim": 16, "model_type": "t2v",
         "num_heads": 12, "num_layers": 30, "out_dim": 16, "text_len": 512}
        """;

    [Fact]
    public void A_mis_shaped_full_size_checkpoint_fails_before_the_model_is_allocated()
    {
        var folder = Directory.CreateTempSubdirectory("sf-wan-");
        try
        {
            File.WriteAllText(Path.Combine(folder.FullName, "config.json"), FullSizeConfigJson);
            var pt = Path.Combine(folder.FullName, "self_forcing_dmd.pt");
            // A 14B-width head in a 1.3B checkpoint: the classic mixed-up download.
            Checkpoints.TorchZipTestWriter.Write(pt, new Dictionary<string, object>
            {
                ["generator_ema"] = new Dictionary<string, object> { ["model.head.head.weight"] = zeros(64, 5120), ["model.head.head.bias"] = zeros(64) },
            });
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var ex = Assert.Throws<CheckpointFormatException>(() => WanCheckpointLoader.LoadCausal(folder.FullName, pt, true, CPU, ScalarType.Float32));
            Assert.Contains("head.head.weight: checkpoint [64, 5120] vs model [64, 1536]", ex.Message);
            using var meta = new CausalWanModel(WanConfig.T2V_1_3B, new Device(TorchSharp.DeviceType.META));
            int missing = meta.named_parameters().Count() - 2; // all but the two head tensors given
            Assert.Contains($"missing {missing} key(s)", ex.Message);
            Assert.Contains($"and {missing - ModuleWeights.MaxListedKeys} more", ex.Message); // listed, not all ~800 of them
            // Allocating and random-initialising the 5.7 GB model first took ~12 s on the dev VM; headers alone take milliseconds.
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"failing took {clock.Elapsed}");
        }
        finally { folder.Delete(true); }
    }

    [Fact]
    public void Uninitialised_models_have_the_same_parameters_as_initialised_ones()
    {
        using var init = new CausalWanModel(WanConfig.Tiny, CPU, ScalarType.BFloat16);
        using var bare = new CausalWanModel(WanConfig.Tiny, CPU, ScalarType.BFloat16, WeightInit.Uninitialised);
        var a = init.named_parameters().Select(p => (p.name, string.Join(",", p.parameter.shape), p.parameter.dtype)).ToList();
        var b = bare.named_parameters().Select(p => (p.name, string.Join(",", p.parameter.shape), p.parameter.dtype)).ToList();
        Assert.Equal(a, b);
        Assert.Equal(init.named_buffers().Select(x => x.name), bare.named_buffers().Select(x => x.name));
    }

    [Fact]
    public void Loading_reports_the_file_and_its_size_when_it_starts_and_the_time_when_done()
    {
        var folder = Directory.CreateTempSubdirectory("sf-wan-");
        try
        {
            File.WriteAllText(Path.Combine(folder.FullName, "config.json"), TinyConfigJson);
            using var source = new CausalWanModel(WanConfig.Tiny with { TextLen = 16 });
            var file = Path.Combine(folder.FullName, "diffusion_pytorch_model.safetensors");
            SafeTensorsWriter.Write(file, source.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter.detach().clone()));
            var log = new StringWriter();
            using var model = WanCheckpointLoader.LoadCausal(folder.FullName, null, false, CPU, ScalarType.Float32, progress: new LoadProgress(log));
            var lines = log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(2, lines.Length);
            Assert.StartsWith("Loading the generator", lines[0]);
            Assert.Contains($"{folder.FullName} ({LoadProgress.Size(new FileInfo(file).Length)})", lines[0]);
            Assert.Matches(@"^  loaded the generator .* in \d+\.\d s$", lines[1]);
        }
        finally { folder.Delete(true); }
    }

    [Theory]
    [InlineData(999_999_999L, "1000.0 MB")]
    [InlineData(11_361_920_000L, "11.4 GB")]
    [InlineData(5_676_000_000L, "5.7 GB")]
    public void Sizes_read_as_file_managers_show_them(long bytes, string expected) => Assert.Equal(expected, LoadProgress.Size(bytes));

    [Theory]
    [InlineData(2, 5, "sink_size (5) must be smaller than local_attn_size (2)")]
    [InlineData(-1, 3, "sink_size (3) needs rolling attention")]
    [InlineData(4, 2, "sink_size (2) + num_frame_per_block (3) must fit in local_attn_size (4)")]
    [InlineData(0, 0, "local_attn_size (0) must be -1 (global) or positive")]
    public void Impossible_attention_windows_are_rejected_before_any_weights_load(int localAttnSize, int sinkSize, string expected)
    {
        var folder = Directory.CreateTempSubdirectory("sf-wan-");
        try
        {
            // No weights in the folder: the config must fail first, naming the values.
            File.WriteAllText(Path.Combine(folder.FullName, "config.json"), TinyConfigJson);
            var ex = Assert.Throws<ArgumentException>(() =>
                WanCheckpointLoader.LoadCausal(folder.FullName, null, false, CPU, ScalarType.Float32, localAttnSize, sinkSize));
            Assert.Contains(expected, ex.Message);
        }
        finally { folder.Delete(true); }
    }
}
