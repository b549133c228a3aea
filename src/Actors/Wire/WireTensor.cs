using static TorchSharp.torch;

namespace SelfForcing.Actors.Wire;

/// <summary>
/// A tensor as data: dtype name, shape and the raw little-endian bytes of its contiguous CPU copy. bfloat16 stays
/// bfloat16 (2 bytes an element), so latents keep their exact bits across the wire. The constructor checks that
/// the parts agree, which is also how a malformed payload is refused on arrival.
/// </summary>
public sealed record WireTensor
{
    public const int MaxDims = 8;

    private static readonly Dictionary<string, (ScalarType Type, int Size)> Types = new(StringComparer.Ordinal)
    {
        ["float32"] = (ScalarType.Float32, 4), ["bfloat16"] = (ScalarType.BFloat16, 2), ["float16"] = (ScalarType.Float16, 2),
        ["uint8"] = (ScalarType.Byte, 1), ["int64"] = (ScalarType.Int64, 8),
    };

    public string DType { get; }
    public long[] Shape { get; }
    public byte[] Data { get; }

    public WireTensor(string dType, long[] shape, byte[] data)
    {
        if (dType is null || !Types.TryGetValue(dType, out var t))
            throw new ArgumentException($"tensor dtype '{dType}' is not one of {string.Join(", ", Types.Keys)}");
        if (shape is null || shape.Length > MaxDims) throw new ArgumentException($"tensor shape must have at most {MaxDims} dimensions");
        if (data is null) throw new ArgumentException("tensor data is missing");
        long elements = 1;
        foreach (long d in shape)
        {
            if (d < 0) throw new ArgumentException($"tensor shape [{string.Join(", ", shape)}] has a negative dimension");
            elements = checked(elements * d);
        }
        if (checked(elements * t.Size) != data.LongLength)
            throw new ArgumentException($"tensor [{string.Join(", ", shape)}] {dType} needs {elements * t.Size} bytes, the payload has {data.LongLength}");
        DType = dType;
        Shape = shape;
        Data = data;
    }

    public long Bytes => Data.LongLength;

    public static WireTensor From(Tensor t)
    {
        var name = Types.FirstOrDefault(kv => kv.Value.Type == t.dtype).Key
                   ?? throw new NotSupportedException($"a {t.dtype} tensor cannot be sent between nodes");
        using var cpu = t.detach().cpu().contiguous();
        return new WireTensor(name, t.shape.ToArray(), cpu.bytes.ToArray());
    }

    /// <summary>A new tensor (owned by the caller's dispose scope) on <paramref name="device"/>.</summary>
    public Tensor ToTensor(Device? device = null)
    {
        var type = Types[DType].Type;
        var cpu = empty(Shape, type);
        cpu.bytes = Data;
        if (device is null || device.type == TorchSharp.DeviceType.CPU) return cpu;
        var moved = cpu.to(device);
        cpu.Dispose();
        return moved;
    }

    public override string ToString() => $"{DType}[{string.Join(", ", Shape)}]";
}
