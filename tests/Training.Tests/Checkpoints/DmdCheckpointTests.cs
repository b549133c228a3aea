using System.Diagnostics;
using System.Security.Cryptography;
using SelfForcing.Model.Checkpoints;
using SelfForcing.Training.Checkpoints;
using SelfForcing.Training.Dmd;
using SelfForcing.Training.Optim;
using SelfForcing.Training.Tests.Dmd;
using static TorchSharp.torch;

namespace SelfForcing.Training.Tests.Checkpoints;

/// <summary>Checkpoints in the reference layout, read back bitwise, and resume exactness.</summary>
public sealed class DmdCheckpointTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("sf-train-ckpt-");

    // Ratio 2 so both halves of a 4-step run hold a generator step; EMA from step 1 so it exists when saved.
    private static readonly DmdSettings Fast = new()
    {
        DfakeGenUpdateRatio = 2, EmaStartStep = 1,
        Optimizers = new AdamWSettingsPair { Generator = new AdamWSettings(1e-3, 0.0, 0.999, 0.01), Critic = new AdamWSettings(1e-3, 0.0, 0.999, 0.01) },
    };

    private static bool Same(Tensor a, Tensor b) =>
        a.dtype == b.dtype && a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    private static Dictionary<string, Tensor> Expected(TinyDmd s)
    {
        var d = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (n, p) in s.Gen.named_parameters()) d[$"generator.model.{n}"] = p.detach();
        foreach (var (n, p) in s.Fake.named_parameters()) d[$"critic.model.{n}"] = p.detach();
        foreach (var (n, t) in s.Trainer.Ema!.Shadow) d[$"generator_ema.model.{n}"] = t;
        return d;
    }

    [Fact]
    public void Saved_checkpoint_has_the_reference_layout_and_reads_back_bitwise()
    {
        using var s = new TinyDmd(Fast, seed: 3);
        for (int i = 0; i < 3; i++) s.Step(); // the step-2 generator update moves the EMA off the generator
        DmdCheckpoint.Save(_dir.FullName, s.Trainer);
        var expected = Expected(s);
        // The EMA has diverged from the generator, so a swapped group would be caught.
        Assert.False(Same(expected["generator_ema.model.head.head.weight"], expected["generator.model.head.head.weight"]));

        using (var pt = StateDict.Open(Path.Combine(_dir.FullName, DmdCheckpoint.TorchFile)))
        {
            Assert.Equal(DmdCheckpoint.Groups.Order(), pt.Groups().Order());
            Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), pt.Keys.Order(StringComparer.Ordinal));
            foreach (var k in pt.Keys)
            {
                using var t = pt.Load(k);
                Assert.True(Same(t, expected[k]), $"model.pt: {k} differs");
            }
        }
        foreach (var group in DmdCheckpoint.Groups)
        {
            using var st = StateDict.Open(Path.Combine(_dir.FullName, group + ".safetensors"));
            var keys = expected.Keys.Where(k => k.StartsWith(group + ".model.", StringComparison.Ordinal)).ToList();
            Assert.Equal(keys.Select(k => k[(group.Length + 1)..]).Order(StringComparer.Ordinal), st.Keys.Order(StringComparer.Ordinal));
            foreach (var k in keys)
            {
                using var t = st.Load(k[(group.Length + 1)..]);
                Assert.True(Same(t, expected[k]), $"{group}.safetensors: {k} differs");
            }
        }
        Assert.False(File.Exists(Path.Combine(_dir.FullName, DmdCheckpoint.TorchFile + ".tmp")));
    }

    /// <summary>
    /// PyTorch itself reads model.pt with weights_only=True and sees the same bytes. Needs Debian's python3-torch
    /// (`.ci/run` installs it): without it the test fails rather than pass unchecked.
    /// </summary>
    [Fact]
    public void Torch_load_weights_only_reads_the_checkpoint()
    {
        var python = PythonWithTorch();
        Assert.True(python is not null, "python3 with torch not found: install Debian's python3-torch (apt-get install python3-torch; .ci/run does)");
        using var s = new TinyDmd(Fast, seed: 4);
        for (int i = 0; i < 3; i++) s.Step(); // the step-2 generator update moves the EMA off the generator
        DmdCheckpoint.Save(_dir.FullName, s.Trainer);
        var script = """
            import hashlib, sys, torch
            sd = torch.load(sys.argv[1], weights_only=True, map_location="cpu")
            for g in sorted(sd):
                for k, t in sd[g].items():
                    print(f"{g}.{k} {t.dtype} {hashlib.sha256(t.contiguous().numpy().tobytes()).hexdigest()}")
            """;
        var output = Python(python, script, Path.Combine(_dir.FullName, DmdCheckpoint.TorchFile));
        var seen = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')).ToDictionary(p => p[0], p => (p[1], p[2]));
        var expected = Expected(s);
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), seen.Keys.Order(StringComparer.Ordinal));
        foreach (var (k, t) in expected)
        {
            Assert.Equal("torch.float32", seen[k].Item1);
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(t.contiguous().bytes)), seen[k].Item2);
        }
    }

    [Fact]
    public void Resumed_run_equals_an_unbroken_run_bitwise()
    {
        const int half = 2;
        Tensor[] Final(TinyDmd s) => [TinyDmd.Flat(s.Gen), TinyDmd.Flat(s.Fake), cat(s.Trainer.Ema!.Shadow.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Value.flatten()).ToArray()).clone()];

        using var straight = new TinyDmd(Fast, seed: 9);
        var straightReports = Enumerable.Range(0, 2 * half).Select(_ => straight.Step()).ToList();

        var reports = new List<DmdStepReport>();
        using (var first = new TinyDmd(Fast, seed: 9))
        {
            for (int i = 0; i < half; i++) reports.Add(first.Step());
            DmdCheckpoint.Save(_dir.FullName, first.Trainer);
        }
        // Different initial weights and seed: everything the second half uses must come from the checkpoint.
        using var resumed = new TinyDmd(Fast, seed: 1234, initSeed: 40);
        DmdCheckpoint.Restore(_dir.FullName, resumed.Trainer);
        Assert.Equal(half, resumed.Trainer.Step);
        for (int i = 0; i < half; i++) reports.Add(resumed.Step());

        Assert.Equal(straightReports, reports);
        var (a, b) = (Final(straight), Final(resumed));
        for (int i = 0; i < a.Length; i++) Assert.True(Same(a[i], b[i]), $"part {i} (generator, critic, EMA) differs after resume");
    }

    [Fact]
    public void Resume_without_optimizer_state_would_differ()
    {
        // The resume test can fail: dropping the AdamW moments changes the second half.
        using var s = new TinyDmd(Fast, seed: 9);
        s.Step(); s.Step();
        DmdCheckpoint.Save(_dir.FullName, s.Trainer);
        var statePath = Path.Combine(_dir.FullName, DmdCheckpoint.TrainerStateFile);
        List<KeyValuePair<string, Tensor>> kept;
        using (var state = StateDict.Open(statePath))
            kept = state.Tensors().Where(kv => !kv.Key.StartsWith("critic_optimizer.", StringComparison.Ordinal)).ToList();
        SafeTensorsWriter.Write(statePath, kept);
        using var resumed = new TinyDmd(Fast, seed: 9);
        DmdCheckpoint.Restore(_dir.FullName, resumed.Trainer);
        resumed.Step();
        s.Step();
        Assert.False(Same(TinyDmd.Flat(s.Fake), TinyDmd.Flat(resumed.Fake)));
    }

    // The first interpreter on PATH may be a virtual environment without torch; Debian's python3-torch lives in the system one.
    private static string? PythonWithTorch()
    {
        foreach (var python in new[] { "python3", "/usr/bin/python3" })
        {
            try { if (Python(python, "import torch; print(torch.__version__)", null).Length > 0) return python; }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException) { }
        }
        return null;
    }

    private static string Python(string python, string script, string? arg)
    {
        var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        if (arg is not null) psi.ArgumentList.Add(arg);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"python3 failed: {stderr}");
        return stdout.Result;
    }

    public void Dispose() => _dir.Delete(true);
}
