using System.IO.Compression;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Model.Checkpoints;

/// <summary>
/// A PyTorch zip checkpoint (<c>torch.save</c>, PyTorch ≥ 1.6): <c>ARCHIVE/data.pkl</c> read by the
/// <see cref="RestrictedUnpickler"/>, storages in <c>ARCHIVE/data/KEY</c> read lazily, one tensor at a time,
/// straight into native memory. Nested dict keys are joined with '.'.
/// <para>
/// Entries are read only when stored uncompressed. torch.save always stores them that way (64-byte aligned, so
/// they can be memory-mapped), so a compressed entry means the archive was rewritten by another tool; refusing it
/// rather than inflating it with a ratio bound means no entry ever yields more bytes than it occupies in the file,
/// which rules out zip bombs outright. The test is on sizes (uncompressed length must not exceed the stored length),
/// since ZipArchiveEntry does not expose the compression method, and reads never go past the declared length.
/// </para>
/// </summary>
public sealed class TorchZipCheckpoint : IDisposable
{
    private const int CopyBufferBytes = 1 << 20;
    private readonly ZipArchive _zip;
    private readonly string _prefix;
    private readonly Dictionary<string, PickledTensor> _tensors;

    public string Path { get; }
    public IReadOnlyList<string> Keys { get; }
    public IReadOnlyDictionary<string, object?> NonTensorEntries { get; }

    private TorchZipCheckpoint(string path, ZipArchive zip, string prefix, IReadOnlyList<(string Key, PickledTensor Tensor)> tensors,
        IReadOnlyDictionary<string, object?> other)
    {
        Path = path; _zip = zip; _prefix = prefix;
        _tensors = new Dictionary<string, PickledTensor>(StringComparer.Ordinal);
        foreach (var (k, t) in tensors)
            if (!_tensors.TryAdd(k, t)) throw new CheckpointFormatException($"{path}: duplicate tensor key '{CheckpointText.Clip(k)}'");
        Keys = tensors.Select(t => t.Key).ToArray();
        NonTensorEntries = other;
    }

    /// <summary>True when the file starts like a zip archive.</summary>
    public static bool LooksLikeZip(string path)
    {
        Span<byte> head = stackalloc byte[4];
        using var fs = File.OpenRead(path);
        return fs.Read(head) == 4 && head[0] == (byte)'P' && head[1] == (byte)'K' && head[2] == 3 && head[3] == 4;
    }

    public static TorchZipCheckpoint Open(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint not found: {path}", path);
        if (!LooksLikeZip(path))
        {
            using var fs = File.OpenRead(path);
            int first = fs.ReadByte();
            if (first == 0x80)
                throw new CheckpointFormatException(
                    $"{path}: legacy (pre-1.6, non-zip) torch.save format is not supported; re-save it with a recent PyTorch: " +
                    "torch.save(torch.load(path), new_path)");
            throw new CheckpointFormatException($"{path}: not a PyTorch zip checkpoint (no zip header)");
        }
        ZipArchive zip;
        try
        {
            ZipDirectoryGuard.Check(path);
            zip = ZipFile.OpenRead(path);
        }
        catch (InvalidDataException e) { throw new CheckpointFormatException($"{path}: corrupt or truncated zip archive ({e.Message})", e); }
        try
        {
            long fileLength = FileSize.Of(path);
            var pkl = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) && e.FullName.Count(c => c == '/') == 1)
                      ?? throw new CheckpointFormatException($"{path}: zip archive has no ARCHIVE/data.pkl; not a torch.save checkpoint");
            CheckEntry(path, pkl, fileLength);
            if (pkl.Length > CheckpointLimits.MaxPickleBytes)
                throw new CheckpointFormatException(CheckpointHazard.PickleTooLarge,
                    $"{path}: data.pkl is {pkl.Length} bytes, over the {CheckpointLimits.MaxPickleBytes}-byte limit");
            var bytes = ReadEntry(path, pkl, pkl.Length);
            var root = RestrictedUnpickler.Load(bytes, path);
            var flat = PickleTree.Flatten(path, root);
            var prefix = pkl.FullName[..^"data.pkl".Length];
            var ckpt = new TorchZipCheckpoint(path, zip, prefix, flat.Tensors, flat.Other);
            ckpt.CheckStorages(flat.Tensors.Select(t => t.Tensor.Storage).DistinctBy(s => s.Key), fileLength);
            return ckpt;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or ArgumentException or OverflowException)
        {
            zip.Dispose();
            throw new CheckpointFormatException($"{path}: corrupt or truncated checkpoint ({e.Message})", e);
        }
        catch
        {
            zip.Dispose();
            throw;
        }
    }

    private ZipArchiveEntry StorageEntry(PickledStorage s) =>
        _zip.GetEntry(_prefix + "data/" + s.Key)
        ?? throw new CheckpointFormatException($"{Path}: storage '{CheckpointText.Clip(s.Key)}' is missing from the archive");

    /// <summary>
    /// Every storage must fit in its entry (the declared element count is the file's word, checked without
    /// overflow), and together they must fit in the file: entries are stored, so their bytes are all in it.
    /// </summary>
    private void CheckStorages(IEnumerable<PickledStorage> storages, long fileLength)
    {
        long total = 0;
        foreach (var s in storages)
        {
            var entry = StorageEntry(s);
            CheckEntry(Path, entry, fileLength);
            int size = TensorDType.ElementSize(s.DType);
            if (s.Numel > entry.Length / size)
                throw new CheckpointFormatException(CheckpointHazard.StorageLargerThanEntry,
                    $"{Path}: storage '{CheckpointText.Clip(s.Key)}' declares {s.Numel} x {s.DType} but its entry holds only {entry.Length} bytes");
            total += s.Numel * size;
            if (total > fileLength)
                throw new CheckpointFormatException(CheckpointHazard.StoragesLargerThanFile,
                    $"{Path}: storages declare more than the file's {fileLength} bytes");
        }
    }

    /// <summary>An entry is read only if it is stored (see the class remarks) and lies within the file.</summary>
    private static void CheckEntry(string path, ZipArchiveEntry entry, long fileLength)
    {
        if (entry.Length > entry.CompressedLength)
            throw new CheckpointFormatException(CheckpointHazard.CompressedEntry,
                $"{path}: entry '{CheckpointText.Clip(entry.FullName)}' is compressed ({entry.CompressedLength} bytes expanding to {entry.Length}); " +
                "torch.save stores entries uncompressed and compressed ones are refused (zip-bomb guard)");
        if (entry.CompressedLength > fileLength)
            throw new CheckpointFormatException(CheckpointHazard.EntryLargerThanFile,
                $"{path}: entry '{CheckpointText.Clip(entry.FullName)}' claims {entry.CompressedLength} bytes but the file has {fileLength}");
    }

    private static byte[] ReadEntry(string path, ZipArchiveEntry entry, long length)
    {
        var bytes = new byte[length];
        try
        {
            using var stream = entry.Open();
            stream.ReadExactly(bytes);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException)
        {
            throw new CheckpointFormatException($"{path}: cannot read '{entry.FullName}' ({e.Message}); the file is corrupt or truncated", e);
        }
        return bytes;
    }

    public (ScalarType DType, long[] Shape) Info(string key) =>
        _tensors.TryGetValue(key, out var t) ? (t.Storage.DType, t.Shape) : throw new KeyNotFoundException($"{Path}: no tensor named '{key}'");

    /// <summary>Reads one tensor (contiguous, CPU, stored dtype). Views of a shared storage are materialised from it.</summary>
    public unsafe Tensor Load(string key)
    {
        if (!_tensors.TryGetValue(key, out var t)) throw new KeyNotFoundException($"{Path}: no tensor named '{key}'");
        var s = t.Storage;
        long bytes = s.Numel * TensorDType.ElementSize(s.DType);
        var storage = empty([s.Numel], s.DType);
        try
        {
            using (var stream = StorageEntry(s).Open())
            {
                var dst = (byte*)NativeTensor.DataPointer(storage);
                var buffer = new byte[(int)Math.Min(CopyBufferBytes, Math.Max(bytes, 1))];
                long done = 0;
                while (done < bytes)
                {
                    int n = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, bytes - done));
                    if (n <= 0) throw new CheckpointFormatException($"{Path}: storage '{s.Key}' ends after {done} of {bytes} bytes");
                    fixed (byte* src = buffer) Buffer.MemoryCopy(src, dst + done, bytes - done, n);
                    done += n;
                }
            }
            bool whole = t.StorageOffset == 0 && t.Shape.Aggregate(1L, (a, b) => a * b) == s.Numel && IsContiguous(t.Shape, t.Stride);
            if (whole)
            {
                var shaped = storage.reshape(t.Shape);
                storage.Dispose();
                return shaped;
            }
            using (storage)
            using (var view = storage.as_strided(t.Shape, t.Stride, t.StorageOffset))
                return view.contiguous().clone();
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            storage.Dispose();
            throw new CheckpointFormatException($"{Path}: cannot read storage '{s.Key}' ({e.Message})", e);
        }
    }

    private static bool IsContiguous(long[] shape, long[] stride)
    {
        long expected = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            if (shape[i] != 1 && stride[i] != expected) return false;
            expected *= shape[i];
        }
        return true;
    }

    public void Dispose() => _zip.Dispose();
}
