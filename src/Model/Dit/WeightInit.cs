using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SelfForcing.Model.Dit;

/// <summary>How a freshly built DiT's large weights are filled.</summary>
public enum WeightInit
{
    /// <summary>PyTorch's default layer init (Kaiming-uniform linear weights).</summary>
    Default,

    /// <summary>
    /// Allocated, never written: for when a checkpoint follows and overwrites every value. Random-initialising
    /// 1.4B parameters only to overwrite them costs ~12 s of CPU and touches every page before the load does.
    /// </summary>
    Uninitialised,
}

/// <summary>The DiT's linear layers, built with or without their default init.</summary>
internal static class DitLayers
{
    public static Linear Linear(long inFeatures, long outFeatures, Device? device, ScalarType dtype, WeightInit init)
    {
        if (init == WeightInit.Default) return nn.Linear(inFeatures, outFeatures, true, device, dtype);
        return nn.Linear(Empty([outFeatures, inFeatures], device, dtype), Empty([outFeatures], device, dtype));
    }

    private static Parameter Empty(long[] shape, Device? device, ScalarType dtype)
    {
        var p = new Parameter(empty(shape, dtype: dtype, device: device), requires_grad: false);
        // Parameters live as long as the module, not as long as a dispose scope the module happens to be built in.
        p.DetachFromDisposeScope();
        return p;
    }
}
