using static TorchSharp.torch;

namespace SelfForcing.Hosting.Output;

/// <summary>
/// The generator's dtype from <c>--dtype</c>. <c>auto</c> picks per device from measurements: float32 on CPU
/// (bfloat16 matmuls ran 5.6x to 10x slower on the dev VM's EPYC, see benchmarks/dtype-cpu-20261127.txt),
/// bfloat16 on CUDA (the reference's dtype; half the memory and tensor-core speed).
/// </summary>
public static class GeneratorDType
{
    public const string Help = "generator dtype: auto (float32 on CPU, bfloat16 on CUDA: bfloat16 is 5-10x slower on CPU), bfloat16, float16, float32";

    public static ScalarType Resolve(string name, Device device) => name.Trim().ToLowerInvariant() switch
    {
        "auto" => device.type == TorchSharp.DeviceType.CUDA ? ScalarType.BFloat16 : ScalarType.Float32,
        "bfloat16" or "bf16" => ScalarType.BFloat16,
        "float16" or "fp16" => ScalarType.Float16,
        "float32" or "fp32" => ScalarType.Float32,
        _ => throw new ArgumentException($"--dtype '{name}' is not supported (auto, bfloat16, float16, float32)"),
    };
}
