using System.Diagnostics;
using SelfForcing.Hosting.Commands;
using SelfForcing.Hosting.Output;
using SelfForcing.Model.Checkpoints;
using SelfForcing.Model.Dit;
using static TorchSharp.torch;

namespace SelfForcing.Hosting.Tests;

/// <summary>
/// Weight files are all checked before any model is built: each problem is one line naming the file, and it comes
/// in well under the time a model build takes (the generator's config here is the full 1.3B, ~6 GB to build).
/// </summary>
public sealed class WeightFilesTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("sf-weights-");
    private string Wan => _dir.FullName;

    public void Dispose() => _dir.Delete(true);

    /// <summary>
    /// A Wan folder laid out like the published one, with small files: the real 1.3B config.json, a DiT that
    /// does not match it (a matching one would be 5.7 GB), and placeholder T5/VAE/tokenizer files.
    /// </summary>
    private void Layout(bool t5 = true)
    {
        File.WriteAllText(Path.Combine(Wan, WanFolder.Config), """
            {"_class_name": "WanModel", "dim": 1536, "eps": 1e-06, "ffn_dim": 8960, "freq_dim": 256, "in_dim": 16, "model_type": "t2v",
             "num_heads": 12, "num_layers": 30, "out_dim": 16, "text_len": 512}
            """);
        WriteTensors(Path.Combine(Wan, "diffusion_pytorch_model.safetensors"), "patch_embedding.weight", "blocks.0.ffn.0.weight", "head.head.weight");
        if (t5) WriteTensors(Path.Combine(Wan, WanFolder.TextEncoder), "token_embedding.weight", "blocks.0.attn.q.weight", "norm.weight");
        WriteTensors(Path.Combine(Wan, WanFolder.Vae), "conv2.weight", "decoder.conv1.weight");
        Directory.CreateDirectory(Path.Combine(Wan, WanFolder.Tokenizer));
        File.WriteAllText(Path.Combine(Wan, WanFolder.Tokenizer, "spiece.model"), "placeholder");
    }

    private static void WriteTensors(string path, params string[] names) =>
        SafeTensorsWriter.Write(path, names.Select(n => new KeyValuePair<string, Tensor>(n, zeros(2, 2))));

    private async Task<(int Rc, string[] Errors, string Stderr, TimeSpan Elapsed)> Generate(WeightOptions weights)
    {
        var stderr = new StringWriter();
        var clock = Stopwatch.StartNew();
        var options = new GenerateCommand.GenerateOptions(["a cat"], 0, Path.Combine(Wan, "out"), 1, 16, weights, null, null, 8, 8);
        int rc = await GenerateCommand.RunAsync(options, new StringWriter(), stderr);
        var text = stderr.ToString();
        return (rc, text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("error: ", StringComparison.Ordinal)).ToArray(),
            text, clock.Elapsed);
    }

    private WeightOptions Weights(string? checkpoint = null, string? taehv = null) => new(Wan, checkpoint, false, "auto", -1, 0, taehv);

    [Fact]
    public async Task A_missing_text_encoder_is_reported_up_front_naming_the_file()
    {
        Layout(t5: false);
        var ckpt = Path.Combine(Wan, "self_forcing_dmd.pt");
        WriteTensors(ckpt, "generator.model.head.head.weight");
        var (rc, errors, stderr, elapsed) = await Generate(Weights(ckpt));
        Assert.Equal(1, rc);
        Assert.Contains(errors, e => e.Contains("missing the UMT5-XXL text encoder") && e.Contains(Path.Combine(Wan, WanFolder.TextEncoder)));
        Assert.DoesNotContain("Loading", stderr); // no model was built
        Assert.True(elapsed < TimeSpan.FromSeconds(10), $"took {elapsed}");
    }

    [Fact]
    public async Task A_file_in_the_wrong_format_is_named_with_what_it_should_be()
    {
        Layout();
        File.WriteAllText(Path.Combine(Wan, WanFolder.Vae), "<html>404 Not Found</html> (a failed download saved under the VAE's name)");
        var (rc, errors, stderr, _) = await Generate(Weights());
        Assert.Equal(1, rc);
        var vae = Assert.Single(errors, e => e.Contains(WanFolder.Vae));
        Assert.Contains("the Wan VAE", vae);
        Assert.Contains("not a PyTorch zip checkpoint", vae);
        Assert.DoesNotContain("Loading", stderr);
    }

    [Fact]
    public async Task A_bad_checkpoint_path_fails_at_once()
    {
        Layout();
        var missing = Path.Combine(Wan, "no-such", "self_forcing_dmd.pt");
        var (rc, errors, stderr, elapsed) = await Generate(Weights(missing));
        Assert.Equal(1, rc);
        var line = Assert.Single(errors);
        Assert.Equal($"error: missing the Self-Forcing checkpoint (--checkpoint): {missing}", line);
        Assert.DoesNotContain("Loading", stderr);
        Assert.True(elapsed < TimeSpan.FromSeconds(10), $"took {elapsed}");
    }

    [Fact]
    public async Task A_generator_that_does_not_fit_the_config_is_reported_from_headers_alone()
    {
        Layout();
        var (rc, errors, stderr, elapsed) = await Generate(Weights());
        Assert.Equal(1, rc);
        var dit = Assert.Single(errors);
        Assert.Contains("the Wan2.1 DiT weights", dit);
        Assert.Contains("head.head.weight: checkpoint [2, 2] vs model [64, 1536]", dit);
        Assert.DoesNotContain("Loading", stderr);
        // Building the 1.3B model (5.7 GB f32) alone took ~12 s with random init on the dev VM.
        Assert.True(elapsed < TimeSpan.FromSeconds(10), $"took {elapsed}");
    }

    [Fact]
    public void Every_problem_is_one_line_and_a_good_layout_has_none_but_the_dit()
    {
        Layout(t5: false);
        File.Delete(Path.Combine(Wan, WanFolder.Tokenizer, "spiece.model"));
        var taehv = Path.Combine(Wan, "taew2_1.pth");
        WriteTensors(taehv, "encoder.0.weight");
        var problems = WeightFiles.Problems(Weights(taehv: taehv));
        Assert.All(problems, p => Assert.DoesNotContain('\n', p));
        Assert.Contains(problems, p => p.StartsWith("missing the UMT5-XXL text encoder"));
        Assert.Contains(problems, p => p.StartsWith("missing the UMT5 tokenizer"));
        Assert.Contains(problems, p => p.Contains("the TAEHV decoder") && p.Contains("no 'decoder' tensors"));
        Assert.Contains(problems, p => p.Contains("the Wan2.1 DiT weights"));
        Assert.Equal(4, problems.Count);
    }

    [Fact]
    public void Checkpoint_and_taehv_without_a_wan_folder_are_problems()
    {
        var problems = WeightFiles.Problems(new WeightOptions(null, "x.pt", false, "auto", -1, 0, "t.pth"));
        Assert.Equal(2, problems.Count);
        Assert.Empty(WeightFiles.Problems(new WeightOptions(null, null, false, "auto", -1, 0)));
    }
}
