using System.Reflection;

namespace SelfForcing.Model.Tests.Golden;

[Trait("Category", "Parity")]
public class ParityTests
{
    private static readonly Dictionary<string, IParityCheck> Checks = typeof(ParityTests).Assembly.GetTypes()
        .Where(t => typeof(IParityCheck).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
        .Select(t => (IParityCheck)Activator.CreateInstance(t)!)
        .ToDictionary(c => c.Kind);

    public static IEnumerable<object[]> Cases() => GoldenDirectory.CaseNames().Select(n => new object[] { n });

    [Theory]
    [MemberData(nameof(Cases))]
    public void Case_matches_reference(string caseName)
    {
        using var golden = GoldenCase.Load(caseName);
        Assert.True(Checks.TryGetValue(golden.Kind, out var check),
            $"{caseName}: no parity check implements kind '{golden.Kind}' (known: {string.Join(", ", Checks.Keys.Order())})");
        check!.Run(golden);
        golden.AssertEveryExpectedTensorCompared();
    }

    [Fact]
    public void Golden_directory_has_cases() => Assert.NotEmpty(GoldenDirectory.CaseNames());
}
