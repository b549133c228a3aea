using static TorchSharp.torch;

namespace SelfForcing.Hosting.Output;

/// <summary>
/// The generator's dtype from <c>--dtype</c>. <c>auto</c> picks per device from measurements: float32 on CPU
/// (on the dev VM's EPYC bfloat16 took 2.3-2.6x the CPU time per chunk in the bench and 5.6x the wall time in a real
/// 1.3B generate run; benchmarks/dtype-cpu-20261127.txt),
/// bfloat16 on CUDA (the reference's dtype; half the memory and tensor-core speed).
/// </summary>
public static class GeneratorDType
{
    public const string Help = "generator dtype: auto (float32 on CPU, bfloat16 on CUDA: bfloat16 measured 2-6x slower on CPU), bfloat16, float16, float32";

    public static ScalarType Resolve(string name, Device device) => name.Trim().ToLowerInvariant() switch
    {
        "auto" => device.type == TorchSharp.DeviceType.CUDA ? ScalarType.BFloat16 : ScalarType.Float32,
        "bfloat16" or "bf16" => ScalarType.BFloat16,
        "float16" or "fp16" => ScalarType.Float16,
        "float32" or "fp32" => ScalarType.Float32,
        _ => throw new ArgumentException($"--dtype '{name}' is not supported (auto, bfloat16, float16, float32)"),
    };
}
