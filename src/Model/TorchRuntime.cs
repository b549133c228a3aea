using TorchSharp;

namespace SelfForcing.Model;

/// <summary>Parses user-facing device names ("cpu", "cuda", "cuda:1") into TorchSharp devices with clear errors.</summary>
public static class TorchRuntime
{
    public static torch.Device ParseDevice(string name)
    {
        if (string.IsNullOrWhiteSpace(name))
            throw new ArgumentException("Device name is empty; use 'cpu' or 'cuda:N'.", nameof(name));
        var n = name.Trim().ToLowerInvariant();
        if (n == "cpu") return torch.CPU;
        if (n == "cuda" || n.StartsWith("cuda:", StringComparison.Ordinal))
        {
            int index = 0;
            if (n.Length > 4 && !int.TryParse(n.AsSpan(5), out index))
                throw new ArgumentException($"Device '{name}' has no valid index; use 'cuda:0', 'cuda:1', ...", nameof(name));
            if (!torch.cuda.is_available())
                throw new InvalidOperationException(
                    $"Device '{name}' requested but CUDA is not available (this build uses the '{BuildInfo.TorchBackend}' TorchSharp backend).");
            if (index < 0 || index >= torch.cuda.device_count())
                throw new ArgumentException($"Device '{name}' does not exist; {torch.cuda.device_count()} CUDA device(s) visible.", nameof(name));
            return new torch.Device(DeviceType.CUDA, index);
        }
        throw new ArgumentException($"Unknown device '{name}'; use 'cpu' or 'cuda:N'.", nameof(name));
    }
}
