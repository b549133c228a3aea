using System.Text.Json;
using SelfForcing.Model.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Model.Tests.Golden;

/// <summary>
/// One parity fixture: the JSON sidecar plus its safetensors file. Tensors are named
/// <c>weights.*</c> (module state), <c>input.*</c> and <c>expected.*</c>.
/// </summary>
public sealed class GoldenCase : IDisposable
{
    public string Name { get; }
    public string Kind { get; }
    public string Directory { get; }
    public JsonElement Sidecar { get; }
    public JsonElement Config => Sidecar.GetProperty("config");
    public SafeTensorsFile Tensors { get; }
    public double MaxAbs { get; }
    private readonly Dictionary<string, double> _perTensor = new();
    private readonly HashSet<string> _exact = new();
    // expected.* tensors a check has compared: a tensor the check never looked at would otherwise pass unnoticed.
    private readonly HashSet<string> _compared = new(StringComparer.Ordinal);

    private GoldenCase(string directory, string name, JsonElement sidecar)
    {
        Directory = directory; Name = name; Sidecar = sidecar;
        if (sidecar.ValueKind != JsonValueKind.Object || !sidecar.TryGetProperty("kind", out var kind) || kind.ValueKind != JsonValueKind.String)
            throw new Xunit.Sdk.XunitException($"{name}.json: the sidecar has no \"kind\", so no parity check can claim it (it is not skipped)");
        Kind = kind.GetString()!;
        Tensors = SafeTensorsFile.Open(System.IO.Path.Combine(directory, sidecar.GetProperty("file").GetString()!));
        var tol = sidecar.GetProperty("tolerance");
        MaxAbs = tol.GetProperty("max_abs").GetDouble();
        if (tol.TryGetProperty("per_tensor_max_abs", out var pt))
            foreach (var p in pt.EnumerateObject()) _perTensor[p.Name] = p.Value.GetDouble();
        if (tol.TryGetProperty("exact", out var ex))
            foreach (var p in ex.EnumerateArray()) _exact.Add(p.GetString()!);
    }

    public static GoldenCase Load(string name) => Load(GoldenDirectory.Path, name);

    public static GoldenCase Load(string dir, string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(System.IO.Path.Combine(dir, name + ".json")));
        return new GoldenCase(dir, name, doc.RootElement.Clone());
    }

    public string SideFile(string fileName) => System.IO.Path.Combine(Directory, fileName);

    public bool Has(string tensor) => Tensors.Entries.ContainsKey(tensor);
    public Tensor Get(string tensor) => Tensors.Load(tensor);

    /// <summary>All tensors under a prefix (e.g. "weights."), with the prefix removed from their names.</summary>
    public Dictionary<string, Tensor> GetAll(string prefix) =>
        Tensors.Entries.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal))
            .ToDictionary(k => k[prefix.Length..], k => Tensors.Load(k));

    public IEnumerable<string> Names(string prefix) =>
        Tensors.Entries.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).OrderBy(k => k, StringComparer.Ordinal);

    public double ToleranceFor(string tensor) => _perTensor.TryGetValue(tensor, out var v) ? v : MaxAbs;

    /// <summary>Checks <paramref name="actual"/> against the fixture tensor under the sidecar's rule.</summary>
    public void AssertMatches(string expectedName, Tensor actual)
    {
        _compared.Add(expectedName);
        using var scope = NewDisposeScope();
        var expected = Get(expectedName);
        if (!expected.shape.SequenceEqual(actual.shape))
            throw new Xunit.Sdk.XunitException(
                $"{Name}: {expectedName}: shape [{string.Join(",", actual.shape)}] != expected [{string.Join(",", expected.shape)}]");
        var a = actual.detach().cpu();
        if (_exact.Contains(expectedName) || !expected.is_floating_point())
        {
            var eq = a.to(expected.dtype).eq(expected);
            if (!eq.all().item<bool>())
            {
                long bad = (~eq).sum().item<long>();
                throw new Xunit.Sdk.XunitException($"{Name}: {expectedName}: {bad} element(s) differ where an exact match is required");
            }
            return;
        }
        var diff = (a.to(ScalarType.Float64) - expected.to(ScalarType.Float64)).abs();
        if (diff.isnan().any().item<bool>())
            throw new Xunit.Sdk.XunitException($"{Name}: {expectedName}: NaN in the difference");
        double max = diff.max().item<double>();
        double tol = ToleranceFor(expectedName);
        if (max > tol)
            throw new Xunit.Sdk.XunitException($"{Name}: {expectedName}: max abs error {max:G4} exceeds tolerance {tol:G4}");
    }

    /// <summary>Fails listing every <c>expected.*</c> tensor of the file that no <see cref="AssertMatches"/> call compared.</summary>
    public void AssertEveryExpectedTensorCompared()
    {
        var missed = Names("expected.").Where(n => !_compared.Contains(n)).ToList();
        if (missed.Count > 0)
            throw new Xunit.Sdk.XunitException(
                $"{Name}: {missed.Count} expected tensor(s) in the fixture were never compared: {string.Join(", ", missed)}");
    }

    public void Dispose() => Tensors.Dispose();
}
