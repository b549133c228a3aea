using SelfForcing.Model.OneDnn;

namespace SelfForcing.Model.Tests.OneDnn;

/// <summary>
/// Tests that set libtorch's process-wide oneDNN switch run alone, after the parallel ones. They set it explicitly:
/// the test process may have turned oneDNN off (a failed probe for a test model), and these tests are about oneDNN.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class OneDnnSwitchCollection
{
    public const string Name = "Serial (sets the oneDNN switch)";

    /// <summary>Runs <paramref name="run"/> with oneDNN on or off, then puts the switch back.</summary>
    public static T With<T>(bool enabled, Func<T> run)
    {
        bool before = LibTorchMkldnnSwitch.Enabled ?? throw new InvalidOperationException("libtorch's oneDNN switch is not reachable");
        Assert.True(LibTorchMkldnnSwitch.TrySet(enabled));
        try { return run(); }
        finally { LibTorchMkldnnSwitch.TrySet(before); }
    }
}
