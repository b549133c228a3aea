using System.IO.Compression;
using System.Text;
using static TorchSharp.torch;

namespace SelfForcing.Model.Checkpoints;

/// <summary>
/// Writes a dict of (dicts of) tensors in <c>torch.save</c>'s zip layout with a protocol-2 pickle, as PyTorch does:
/// <c>ARCHIVE/data.pkl</c>, one stored (uncompressed) entry <c>ARCHIVE/data/i</c> per tensor, <c>ARCHIVE/version</c>.
/// Only the globals <c>torch.load(weights_only=True)</c> allows are emitted (<c>_rebuild_tensor_v2</c>, the storage
/// types, <c>OrderedDict</c>), so the file loads without unpickling arbitrary code. Values: tensors, nested dicts
/// (written as <c>OrderedDict</c>, as a module's state dict is) and integers. Written to a temporary file and moved,
/// so a crash never leaves a half-written checkpoint under the final name.
/// </summary>
public static class TorchZipWriter
{
    public static void Write(string path, IReadOnlyDictionary<string, object> root)
    {
        var storages = new List<Tensor>();
        var pkl = new MemoryStream();
        pkl.Write([0x80, 0x02]);
        WriteDict(pkl, root, storages, ordered: false);
        pkl.WriteByte((byte)'.');
        var archive = System.IO.Path.GetFileNameWithoutExtension(path);
        var tmp = path + ".tmp";
        File.Delete(tmp);
        using (var zip = ZipFile.Open(tmp, ZipArchiveMode.Create))
        {
            Add(zip, $"{archive}/data.pkl", pkl.ToArray());
            for (int i = 0; i < storages.Count; i++)
            {
                using var scope = NewDisposeScope();
                var c = storages[i].detach().cpu().contiguous();
                Add(zip, $"{archive}/data/{i}", (c.dtype == ScalarType.Bool ? c.to(ScalarType.Byte) : c).bytes.ToArray());
            }
            Add(zip, $"{archive}/version", Encoding.ASCII.GetBytes("3\n"));
        }
        File.Move(tmp, path, overwrite: true);
    }

    private static void Add(ZipArchive zip, string name, byte[] data)
    {
        using var s = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
        s.Write(data);
    }

    private static void WriteDict(Stream s, IReadOnlyDictionary<string, object> d, List<Tensor> storages, bool ordered)
    {
        if (ordered) { Global(s, "collections", "OrderedDict"); s.WriteByte((byte)')'); s.WriteByte((byte)'R'); }
        else s.WriteByte((byte)'}');
        s.WriteByte((byte)'(');
        foreach (var (k, v) in d)
        {
            Str(s, k);
            switch (v)
            {
                case Tensor t: WriteTensor(s, t, storages); break;
                case IReadOnlyDictionary<string, object> inner: WriteDict(s, inner, storages, ordered: true); break;
                case int i: Int(s, i); break;
                case long l: Int(s, l); break;
                default: throw new ArgumentException($"cannot pickle {v.GetType()}");
            }
        }
        s.WriteByte((byte)'u');
    }

    private static void WriteTensor(Stream s, Tensor t, List<Tensor> storages)
    {
        Global(s, "torch._utils", "_rebuild_tensor_v2");
        s.WriteByte((byte)'(');
        s.WriteByte((byte)'(');
        Str(s, "storage");
        Global(s, "torch", StorageName(t.dtype));
        Str(s, storages.Count.ToString());
        Str(s, "cpu");
        Int(s, t.numel());
        s.WriteByte((byte)'t');
        s.WriteByte((byte)'Q');
        storages.Add(t);
        Int(s, 0);
        Tuple(s, t.shape);
        var stride = new long[t.shape.Length];
        long acc = 1;
        for (int i = stride.Length - 1; i >= 0; acc *= t.shape[i], i--) stride[i] = acc;
        Tuple(s, stride);
        s.WriteByte(0x89);
        Global(s, "collections", "OrderedDict"); s.WriteByte((byte)')'); s.WriteByte((byte)'R');
        s.WriteByte((byte)'t');
        s.WriteByte((byte)'R');
    }

    private static string StorageName(ScalarType t) => t switch
    {
        ScalarType.Float32 => "FloatStorage", ScalarType.BFloat16 => "BFloat16Storage", ScalarType.Float16 => "HalfStorage",
        ScalarType.Int64 => "LongStorage", ScalarType.Bool => "BoolStorage", _ => throw new ArgumentException(t.ToString()),
    };

    private static void Global(Stream s, string module, string name) => s.Write(Encoding.ASCII.GetBytes($"c{module}\n{name}\n"));

    private static void Str(Stream s, string v)
    {
        var b = Encoding.UTF8.GetBytes(v);
        s.WriteByte((byte)'X');
        s.Write(BitConverter.GetBytes((uint)b.Length));
        s.Write(b);
    }

    private static void Int(Stream s, long v)
    {
        s.WriteByte(0x8a);
        s.WriteByte(8);
        s.Write(BitConverter.GetBytes(v));
    }

    private static void Tuple(Stream s, long[] values)
    {
        s.WriteByte((byte)'(');
        foreach (var v in values) Int(s, v);
        s.WriteByte((byte)'t');
    }
}
