using System.Runtime.InteropServices;
using TorchSharp;

namespace SelfForcing.Model.Checkpoints;

/// <summary>
/// Raw access to a tensor's storage. TorchSharp exposes element accessors but no data pointer; loaders need
/// one to copy checkpoint bytes (possibly over 2 GiB for one tensor) straight into native memory.
/// </summary>
internal static class NativeTensor
{
    [DllImport("LibTorchSharp")]
    private static extern IntPtr THSTensor_data(IntPtr handle);

    /// <summary>Pointer to the first element of a contiguous CPU tensor.</summary>
    public static IntPtr DataPointer(torch.Tensor t)
    {
        if (t.device_type != DeviceType.CPU) throw new ArgumentException("tensor must be on the CPU");
        if (!t.is_contiguous()) throw new ArgumentException("tensor must be contiguous");
        torch.InitializeDeviceType(DeviceType.CPU);
        return THSTensor_data(t.Handle);
    }
}
