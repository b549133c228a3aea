using System.Diagnostics;
using SelfForcing.Model.Checkpoints;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SelfForcing.Model.Tests.Checkpoints;

/// <summary>
/// Issue 9: a reader of untrusted checkpoints refuses hostile structure with one specific error, quickly, and the
/// process stays usable. Before the fix these cases overflowed the stack (killing the test host) or ran forever,
/// which <see cref="Within"/> turns into a failure.
/// </summary>
public sealed class HostileCheckpointTests(ITestOutputHelper output) : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("sf-hostile-");

    public void Dispose() => _dir.Delete(true);

    public static IEnumerable<object[]> Cases() => HostileCheckpoints.Names();

    [Theory]
    [MemberData(nameof(Cases))]
    public void Hostile_file_is_refused_naming_the_problem_and_the_file(string file)
    {
        var hostile = HostileCheckpoints.Get(file);
        var path = Path.Combine(_dir.FullName, file);
        hostile.Write(path);

        var sw = Stopwatch.StartNew();
        var error = Within(() =>
        {
            using var sd = StateDict.Open(path);
            foreach (var k in sd.Keys) sd.Load(k).Dispose();
        });
        sw.Stop();
        output.WriteLine($"{file}: refused in {sw.Elapsed.TotalMilliseconds:F0} ms: {error?.Message}");

        var ex = Assert.IsType<CheckpointFormatException>(error);
        if (hostile.Hazard is { } hazard) Assert.Equal(hazard, ex.Hazard);
        Assert.Contains(path, ex.Message);
        if (hostile.Mentions is { } mention) Assert.Contains(mention, ex.Message);
        Assert.DoesNotContain("\n", ex.Message);
        Assert.True(ex.Message.Length < path.Length + 400, $"message is {ex.Message.Length} chars long");

        AssertGoodCheckpointStillReads();
    }

    [Fact]
    public void Shared_tuples_are_visited_once_not_once_per_path()
    {
        // 2^40 paths through 41 tuples: legal, and a walk that counts paths would never finish.
        var path = Path.Combine(_dir.FullName, "shared_tuples.pt");
        TorchZipTestWriter.WriteRaw(path, HostileCheckpoints.SharedTuples(40), []);
        var sw = Stopwatch.StartNew();
        StateDict? sd = null;
        var error = Within(() => sd = StateDict.Open(path));
        output.WriteLine($"opened in {sw.Elapsed.TotalMilliseconds:F0} ms");
        Assert.Null(error);
        using (sd)
        {
            Assert.Empty(sd!.Keys);
            var root = Assert.IsType<object?[]>(sd.NonTensorEntries["paths"]);
            Assert.Equal(2, root.Length);
            Assert.Same(root[0], root[1]);
        }
    }

    [Fact]
    public void Nesting_just_inside_the_limit_is_read()
    {
        // The limit refuses hostile depth, not depth itself: a dict chain one short of it still flattens.
        var path = Path.Combine(_dir.FullName, "deep_ok.pt");
        TorchZipTestWriter.WriteRaw(path, HostileCheckpoints.NestedViaMemo(CheckpointLimits.MaxNestingDepth - 1), []);
        using (var sd = StateDict.Open(path)) Assert.Empty(sd.Keys);

        var tooDeep = Path.Combine(_dir.FullName, "deep_over.pt");
        TorchZipTestWriter.WriteRaw(tooDeep, HostileCheckpoints.NestedViaMemo(CheckpointLimits.MaxNestingDepth), []);
        var ex = Assert.Throws<CheckpointFormatException>(() => StateDict.Open(tooDeep).Dispose());
        Assert.Equal(CheckpointHazard.NestingTooDeep, ex.Hazard);
    }

    [Fact]
    public void Tied_weights_shared_by_two_keys_are_still_read()
    {
        // Shared dicts are refused, shared tensors are not: tied embeddings pickle one tensor under two keys.
        var path = Path.Combine(_dir.FullName, "tied.pt");
        var pickle = new PickleBuilder().EmptyDict().Mark()
            .Str("embed.weight").Tensor("0", 4, [2, 2], [2, 1]).Put(7)
            .Str("head.weight").Get(7)
            .SetItems().Stop();
        TorchZipTestWriter.WriteRaw(path, pickle, [new byte[16]]);
        using var sd = StateDict.Open(path);
        Assert.Equal(new[] { "embed.weight", "head.weight" }, sd.Keys);
        using var t = sd.Load("head.weight");
        Assert.Equal(new[] { 2L, 2L }, t.shape);
    }

    /// <summary>Runs <paramref name="read"/> and returns what it threw; fails if it has not finished in 60 s (a hang, not a slow machine).</summary>
    private static Exception? Within(Action read)
    {
        var task = Task.Run(read);
        bool finished = Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(60))).GetAwaiter().GetResult() == task;
        Assert.True(finished, "reading did not finish within 60 s");
        return task.Exception?.InnerException;
    }

    private void AssertGoodCheckpointStillReads()
    {
        var good = Path.Combine(_dir.FullName, "good.pt");
        var expected = HostileCheckpoints.WriteGood(good);
        using var sd = StateDict.Open(good);
        Assert.Equal(new[] { "model.w", "model.b" }, sd.Keys);
        foreach (var (name, want) in expected)
        {
            using var got = sd.Load("model." + name);
            Assert.True(want.eq(got).all().item<bool>() && want.shape.SequenceEqual(got.shape), $"model.{name} differs");
        }
    }
}
