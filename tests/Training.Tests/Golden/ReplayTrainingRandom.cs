using System.Text.Json;
using SelfForcing.Model.Tests.Golden;
using SelfForcing.Training.Randomness;
using static TorchSharp.torch;

namespace SelfForcing.Training.Tests.Golden;

/// <summary>
/// Replays a fixture's recorded draws in the sidecar's <c>extra.draw_order</c>: each call must be the next recorded
/// draw with the same function and shape, so a port that draws in another order fails instead of passing by luck.
/// </summary>
public sealed class ReplayTrainingRandom : ITrainingRandom
{
    private readonly GoldenCase _golden;
    private readonly List<JsonElement> _order;
    private int _next;

    public ReplayTrainingRandom(GoldenCase golden)
    {
        _golden = golden;
        _order = golden.Sidecar.GetProperty("extra").GetProperty("draw_order").EnumerateArray().ToList();
    }

    public Tensor RandInt(long low, long high, long[] shape, string role)
    {
        var (entry, t) = Next("torch.randint", shape, role);
        Assert.True(entry.GetProperty("low").GetInt64() == low && entry.GetProperty("high").GetInt64() == high,
            $"{_golden.Name}: {role}: randint({low}, {high}) but the reference drew randint({entry.GetProperty("low")}, {entry.GetProperty("high")})");
        return t;
    }

    public Tensor Randn(long[] shape, ScalarType dtype, Device device, string role) =>
        Next("randn", shape, role).Tensor.reshape(shape).to(dtype, device);

    private (JsonElement Entry, Tensor Tensor) Next(string fn, long[] shape, string role)
    {
        Assert.True(_next < _order.Count, $"{_golden.Name}: {role}: the port draws more often than the reference ({_order.Count} draws)");
        var entry = _order[_next++];
        var recordedFn = entry.GetProperty("fn").GetString()!;
        Assert.True(recordedFn.Contains(fn, StringComparison.Ordinal), $"{_golden.Name}: {role}: draw {_next - 1} is {recordedFn} in the reference");
        var t = _golden.Get(entry.GetProperty("input").GetString()!);
        Assert.True(t.numel() == shape.Aggregate(1L, (a, b) => a * b),
            $"{_golden.Name}: {role}: shape [{string.Join(",", shape)}] vs recorded [{string.Join(",", t.shape)}]");
        return (entry, t);
    }

    /// <summary>Fails unless every recorded draw was used.</summary>
    public void AssertAllDrawn() =>
        Assert.True(_next == _order.Count, $"{_golden.Name}: the port made {_next} draws, the reference {_order.Count}");
}
