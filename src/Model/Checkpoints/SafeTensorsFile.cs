using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using System.Text.Json;
using TorchSharp;

namespace SelfForcing.Model.Checkpoints;

/// <summary>One tensor's entry in a safetensors header.</summary>
public sealed record SafeTensorsEntry(string Name, torch.ScalarType DType, long[] Shape, long Begin, long End);

/// <summary>
/// A memory-mapped safetensors file. The header is validated up front (size limit, offsets inside the data
/// section, no overlaps, rank limit, dtype x shape = byte length computed without overflow); tensor bytes are copied
/// straight from the mapping into native tensor storage, never through a managed array. Refusals of sizes and
/// offsets a hostile file could use are <see cref="CheckpointFormatException"/>s with a <see cref="CheckpointFormatException.Hazard"/>.
/// </summary>
public sealed unsafe class SafeTensorsFile : IDisposable
{
    /// <summary>Largest header accepted; real headers of multi-GB models are a few hundred KB.</summary>
    public const long MaxHeaderBytes = CheckpointLimits.MaxSafeTensorsHeaderBytes;

    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly byte* _base;
    private readonly long _dataStart;

    public string Path { get; }
    public long FileLength { get; }
    public IReadOnlyDictionary<string, SafeTensorsEntry> Entries { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }

    private SafeTensorsFile(string path, long length, MemoryMappedFile? map, MemoryMappedViewAccessor? view, byte* basePtr,
        long dataStart, Dictionary<string, SafeTensorsEntry> entries, Dictionary<string, string> metadata)
    {
        Path = path; FileLength = length; _map = map; _view = view; _base = basePtr; _dataStart = dataStart;
        Entries = entries; Metadata = metadata;
    }

    public static SafeTensorsFile Open(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"safetensors file not found: {path}", path);
        long length = FileSize.Of(path);
        if (length < 8) throw new CheckpointFormatException($"{path}: file is {length} bytes, too short for a safetensors header");

        ulong headerLen;
        using (var fs = File.OpenRead(path))
        {
            Span<byte> lenBytes = stackalloc byte[8];
            fs.ReadExactly(lenBytes);
            headerLen = BitConverter.ToUInt64(lenBytes);
            if (headerLen > MaxHeaderBytes)
                throw new CheckpointFormatException(CheckpointHazard.HeaderTooLarge, $"{path}: header length {headerLen} bytes exceeds the {MaxHeaderBytes}-byte limit");
            if ((long)headerLen > length - 8)
                throw new CheckpointFormatException(CheckpointHazard.HeaderTooLarge, $"{path}: header length {headerLen} runs past the end of the {length}-byte file");
            var header = new byte[headerLen];
            fs.ReadExactly(header);
            long dataStart = 8 + (long)headerLen;
            var (entries, metadata) = ParseHeader(path, header, length - dataStart);

            MemoryMappedFile? map = null;
            MemoryMappedViewAccessor? view = null;
            byte* ptr = null;
            if (length > 0)
            {
                map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
                view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
                view.SafeMemoryMappedViewHandle.AcquirePointer(ref ptr);
                ptr += view.PointerOffset;
            }
            return new SafeTensorsFile(path, length, map, view, ptr, dataStart, entries, metadata);
        }
    }

    private static (Dictionary<string, SafeTensorsEntry>, Dictionary<string, string>) ParseHeader(string path, byte[] header, long dataLength)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(header); }
        catch (JsonException e) { throw new CheckpointFormatException($"{path}: header is not valid JSON ({e.Message})", e); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new CheckpointFormatException($"{path}: header is not a JSON object");
            var entries = new Dictionary<string, SafeTensorsEntry>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    if (prop.Value.ValueKind == JsonValueKind.Object)
                        foreach (var m in prop.Value.EnumerateObject())
                            metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                    continue;
                }
                if (entries.ContainsKey(prop.Name) || metadata.Count > 0 && prop.Name == "__metadata__")
                    throw new CheckpointFormatException($"{path}: tensor '{CheckpointText.Clip(prop.Name)}' appears twice in the header");
                entries.Add(prop.Name, ParseEntry(path, prop.Name, prop.Value, dataLength));
            }
            var sorted = entries.Values.Where(e => e.End > e.Begin).OrderBy(e => e.Begin).ToArray();
            for (int i = 1; i < sorted.Length; i++)
                if (sorted[i].Begin < sorted[i - 1].End)
                    throw new CheckpointFormatException(CheckpointHazard.OverlappingTensors,
                        $"{path}: tensors '{CheckpointText.Clip(sorted[i - 1].Name)}' and '{CheckpointText.Clip(sorted[i].Name)}' overlap in the data section");
            return (entries, metadata);
        }
    }

    private static SafeTensorsEntry ParseEntry(string path, string name, JsonElement e, long dataLength)
    {
        string tensor = $"{path}: tensor '{CheckpointText.Clip(name)}'";
        try
        {
            var dtypeName = e.GetProperty("dtype").GetString() ?? "";
            torch.ScalarType dtype;
            try { dtype = TensorDType.FromSafeTensorsName(dtypeName); }
            catch (CheckpointFormatException ex) { throw new CheckpointFormatException($"{tensor}: {ex.Message}", ex); }
            var shapeJson = e.GetProperty("shape");
            if (shapeJson.GetArrayLength() > CheckpointLimits.MaxTensorRank)
                throw new CheckpointFormatException(CheckpointHazard.TensorRankTooHigh,
                    $"{tensor}: shape has {shapeJson.GetArrayLength()} dimensions, over the limit of {CheckpointLimits.MaxTensorRank}");
            var shape = shapeJson.EnumerateArray().Select(x => x.GetInt64()).ToArray();
            var offs = e.GetProperty("data_offsets").EnumerateArray().Select(x => x.GetInt64()).ToArray();
            if (offs.Length != 2) throw new CheckpointFormatException($"{tensor}: data_offsets must have 2 entries");
            if (shape.Any(d => d < 0)) throw new CheckpointFormatException($"{tensor}: negative dimension in shape");
            if (offs[0] < 0 || offs[1] < offs[0])
                throw new CheckpointFormatException(CheckpointHazard.OffsetsOutOfRange, $"{tensor}: invalid data_offsets [{offs[0]}, {offs[1]}]");
            if (offs[1] > dataLength)
                throw new CheckpointFormatException(CheckpointHazard.OffsetsOutOfRange,
                    $"{tensor}: data_offsets [{offs[0]}, {offs[1]}] point past the end of the data section ({dataLength} bytes)");
            long bytes;
            try
            {
                long elements = 1;
                foreach (var d in shape) elements = checked(elements * d);
                bytes = checked(elements * TensorDType.ElementSize(dtype));
            }
            catch (OverflowException)
            {
                throw new CheckpointFormatException(CheckpointHazard.ElementCountOverflow,
                    $"{tensor}: shape [{CheckpointText.Clip(string.Join(", ", shape))}] overflows 64-bit byte counts");
            }
            if (bytes != offs[1] - offs[0])
                throw new CheckpointFormatException(
                    $"{tensor}: dtype x shape is {bytes} bytes but data_offsets span {offs[1] - offs[0]} bytes");
            return new SafeTensorsEntry(name, dtype, shape, offs[0], offs[1]);
        }
        catch (CheckpointFormatException) { throw; }
        catch (Exception ex) when (ex is KeyNotFoundException or InvalidOperationException or FormatException or OverflowException)
        {
            throw new CheckpointFormatException($"{tensor}: malformed header entry ({ex.Message})", ex);
        }
    }

    /// <summary>Reads one tensor into a new CPU tensor of its stored dtype.</summary>
    public torch.Tensor Load(string name)
    {
        if (!Entries.TryGetValue(name, out var e))
            throw new KeyNotFoundException($"{Path}: no tensor named '{name}'");
        return Load(e);
    }

    public torch.Tensor Load(SafeTensorsEntry e)
    {
        var t = torch.empty(e.Shape, e.DType);
        long n = e.End - e.Begin;
        if (n > 0)
            Buffer.MemoryCopy(_base + _dataStart + e.Begin, (void*)NativeTensor.DataPointer(t), n, n);
        return t;
    }

    public void Dispose()
    {
        if (_view != null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }
        _map?.Dispose();
    }
}
