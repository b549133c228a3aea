using System.Runtime.InteropServices;

namespace SelfForcing.Model.OneDnn;

/// <summary>
/// libtorch's process-wide oneDNN switch (<c>at::globalContext().setUserEnabledMkldnn</c>), which TorchSharp does not
/// expose. Reachable only where libtorch_cpu exports the C++ symbols (Linux builds).
/// </summary>
public static class LibTorchMkldnnSwitch
{
    [DllImport("libtorch_cpu", EntryPoint = "_ZN2at13globalContextEv")]
    private static extern IntPtr GlobalContext();

    [DllImport("libtorch_cpu", EntryPoint = "_ZN2at7Context20setUserEnabledMkldnnEb")]
    private static extern void SetUserEnabledMkldnn(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

    [DllImport("libtorch_cpu", EntryPoint = "_ZNK2at7Context17userEnabledMkldnnEv")]
    [return: MarshalAs(UnmanagedType.U1)]
    private static extern bool UserEnabledMkldnn(IntPtr context);

    /// <summary>Whether oneDNN may run convolutions, or null where the switch cannot be reached.</summary>
    public static bool? Enabled
    {
        get => Try(() => UserEnabledMkldnn(GlobalContext()));
    }

    /// <summary>Sets the switch; false where it cannot be reached.</summary>
    public static bool TrySet(bool enabled) => Try(() => { SetUserEnabledMkldnn(GlobalContext(), enabled); return true; }) ?? false;

    private static bool? Try(Func<bool> call)
    {
        if (!OperatingSystem.IsLinux()) return null;
        try
        {
            using (TorchSharp.torch.zeros(1)) { } // makes sure TorchSharp has loaded libtorch before we resolve its symbols
            return call();
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }
}
