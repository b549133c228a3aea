using System.Runtime.InteropServices;

namespace SelfForcing.Model;

/// <summary>
/// Turns off libtorch's oneDNN (mkldnn) CPU convolutions for the process. Measured on this project's machines
/// (libtorch 2.10 CPU, AVX-512 CPUs): float32 conv2d/conv3d through oneDNN return wrong values for some shapes
/// (e.g. 24→12 channels at 32×32, or any batch above 1: max error ≈ 12 against float64), while the native ATen
/// kernels agree with float64 to 1e-5. TorchSharp has no switch for it, so this calls
/// <c>at::globalContext().setUserEnabledMkldnn(false)</c> directly. Set SELFFORCING_KEEP_ONEDNN=1 to skip.
/// </summary>
public static class OneDnnConvolutionGuard
{
    private static int _applied;

    [DllImport("libtorch_cpu", EntryPoint = "_ZN2at13globalContextEv")]
    private static extern IntPtr GlobalContext();

    [DllImport("libtorch_cpu", EntryPoint = "_ZN2at7Context20setUserEnabledMkldnnEb")]
    private static extern void SetUserEnabledMkldnn(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

    /// <summary>True once oneDNN is off; false where the switch could not be reached (non-Linux libtorch builds).</summary>
    public static bool Disabled { get; private set; }

    public static void Apply()
    {
        if (Interlocked.Exchange(ref _applied, 1) == 1) return;
        if (Environment.GetEnvironmentVariable("SELFFORCING_KEEP_ONEDNN") == "1") return;
        if (!OperatingSystem.IsLinux()) return;
        try
        {
            _ = TorchSharp.torch.zeros(1); // makes sure TorchSharp has loaded libtorch before we resolve its symbols
            SetUserEnabledMkldnn(GlobalContext(), false);
            Disabled = true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            Disabled = false;
        }
    }
}
