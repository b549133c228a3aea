using SelfForcing.Model.Checkpoints;
using static TorchSharp.torch;

namespace SelfForcing.Model.Tests.Golden;

/// <summary>The parity harness itself: fixtures it cannot check must fail, not pass quietly.</summary>
public class GoldenHarnessTests
{
    private const string Sidecar = """{ "case": "x", "kind": "synthetic", "file": "x.safetensors", "tolerance": { "max_abs": 1e-6 } }""";

    [Fact]
    public void An_expected_tensor_no_check_compared_fails_the_case_naming_it()
    {
        var dir = Directory.CreateTempSubdirectory("sf-golden-");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "x.json"), Sidecar);
            SafeTensorsWriter.Write(Path.Combine(dir.FullName, "x.safetensors"), new Dictionary<string, Tensor>
            {
                ["input.a"] = arange(4, ScalarType.Float32), ["expected.a"] = arange(4, ScalarType.Float32), ["expected.b"] = ones(2),
            });
            using var golden = GoldenCase.Load(dir.FullName, "x");
            golden.AssertMatches("expected.a", arange(4, ScalarType.Float32));
            var ex = Assert.ThrowsAny<Exception>(golden.AssertEveryExpectedTensorCompared);
            Assert.Contains("expected.b", ex.Message);
            Assert.DoesNotContain("expected.a", ex.Message);

            golden.AssertMatches("expected.b", ones(2));
            golden.AssertEveryExpectedTensorCompared();
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void A_sidecar_without_a_kind_is_listed_and_fails()
    {
        var dir = Directory.CreateTempSubdirectory("sf-golden-");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "nokind.json"), """{ "case": "nokind", "file": "nokind.safetensors" }""");
            Assert.Equal(["nokind"], GoldenDirectory.CaseNames(dir.FullName));
            var ex = Assert.ThrowsAny<Exception>(() => GoldenCase.Load(dir.FullName, "nokind"));
            Assert.Contains("nokind.json", ex.Message);
            Assert.Contains("\"kind\"", ex.Message);
        }
        finally { dir.Delete(true); }
    }
}
