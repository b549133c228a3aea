using SelfForcing.Model.Dit;

namespace SelfForcing.Hosting.Bench;

/// <summary>Model shapes the bench verb knows by name.</summary>
public static class BenchPresets
{
    /// <summary>About 113M parameters: the 1.3B block layout at half width and 12 layers.</summary>
    public static WanConfig Small { get; } = WanConfig.T2V_1_3B with { Dim = 768, FfnDim = 3072, NumHeads = 6, NumLayers = 12 };

    public static IReadOnlyDictionary<string, WanConfig> Dit { get; } = new Dictionary<string, WanConfig>(StringComparer.OrdinalIgnoreCase)
    {
        ["tiny"] = WanConfig.Tiny,
        ["small"] = Small,
        ["1.3b"] = WanConfig.T2V_1_3B,
        ["14b"] = WanConfig.T2V_14B,
    };

    public static WanConfig ResolveDit(string name) =>
        Dit.TryGetValue(name, out var c) ? c
            : throw new ArgumentException($"unknown model config '{name}'; choose one of: {string.Join(", ", Dit.Keys)}");
}
