namespace SelfForcing.Actors.Stages;

/// <summary>The device (or the host, for CPU tensors) could not allocate what a stage needed.</summary>
public sealed class DeviceOutOfMemoryException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The device failed in a way that poisons every later call on it (illegal access, device-side assert, driver gone).</summary>
public sealed class DeviceLostException(string message, Exception? inner = null) : Exception(message, inner), IPermanentFailure;

/// <summary>
/// libtorch reports device trouble only as text in a generic native exception. This is the one place that reads that
/// text: stage workers turn such exceptions into <see cref="DeviceOutOfMemoryException"/> or
/// <see cref="DeviceLostException"/>, and everything downstream matches on types.
/// </summary>
public static class DeviceFailures
{
    private static readonly string[] OutOfMemory = ["out of memory", "can't allocate memory", "DefaultCPUAllocator: not enough memory"];
    private static readonly string[] Lost =
        ["illegal memory access", "device-side assert", "CUDA driver version is insufficient", "no CUDA-capable device", "unspecified launch failure",
         "CUDA error: an illegal instruction", "NCCL error"];

    public static Exception Translate(Exception ex)
    {
        if (ex is DeviceOutOfMemoryException or DeviceLostException or OutOfMemoryException) return ex;
        if (ex is not (System.Runtime.InteropServices.ExternalException or InvalidOperationException)) return ex;
        if (OutOfMemory.Any(s => ex.Message.Contains(s, StringComparison.OrdinalIgnoreCase))) return new DeviceOutOfMemoryException(ex.Message, ex);
        if (Lost.Any(s => ex.Message.Contains(s, StringComparison.OrdinalIgnoreCase))) return new DeviceLostException(ex.Message, ex);
        return ex;
    }
}
