using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace SelfForcing.Model.Checkpoints;

/// <summary>Writes tensors as a safetensors file: keys sorted, data in key order, header padded to 8 bytes.</summary>
public static class SafeTensorsWriter
{
    public static unsafe void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var items = tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        var dup = items.GroupBy(kv => kv.Key).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new ArgumentException($"duplicate tensor name '{dup.Key}'");

        using var header = new MemoryStream();
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal)) json.WriteString(k, v);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, t) in items)
            {
                long bytes = t.numel() * TensorDType.ElementSize(t.dtype);
                json.WriteStartObject(name);
                json.WriteString("dtype", TensorDType.ToSafeTensorsName(t.dtype));
                json.WriteStartArray("shape");
                foreach (var d in t.shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }
            json.WriteEndObject();
        }
        var headerBytes = header.ToArray().ToList();
        while (headerBytes.Count % 8 != 0) headerBytes.Add((byte)' ');

        var tmp = path + ".tmp";
        using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            fs.Write(BitConverter.GetBytes((ulong)headerBytes.Count));
            fs.Write(headerBytes.ToArray());
            var buffer = new byte[1 << 20];
            foreach (var (_, t) in items)
            {
                using var scope = NewDisposeScope();
                var c = t.detach().cpu().contiguous();
                long bytes = c.numel() * TensorDType.ElementSize(c.dtype);
                var src = (byte*)NativeTensor.DataPointer(c);
                for (long done = 0; done < bytes;)
                {
                    int n = (int)Math.Min(buffer.Length, bytes - done);
                    fixed (byte* dst = buffer) Buffer.MemoryCopy(src + done, dst, n, n);
                    fs.Write(buffer, 0, n);
                    done += n;
                }
            }
        }
        File.Move(tmp, path, overwrite: true);
    }
}
