using System.IO.Compression;
using System.Text;
using SelfForcing.Model.Checkpoints;
using static TorchSharp.torch;

namespace SelfForcing.Model.Tests.Checkpoints;

/// <summary>
/// Writes a dict of (dicts of) tensors in torch.save's zip layout with a protocol-2 pickle, as PyTorch does, so
/// tests can build self_forcing_dmd.pt-shaped files of any size.
/// </summary>
public static class TorchZipTestWriter
{
    public static void Write(string path, IReadOnlyDictionary<string, object> root) => TorchZipWriter.Write(path, root);

    /// <summary>
    /// The same layout around a pickle written by hand (storage <c>i</c> is <c>data/i</c>), for files torch.save would
    /// never produce, such as compressed entries.
    /// </summary>
    public static void WriteRaw(string path, byte[] pickle, IReadOnlyList<byte[]> storages,
        CompressionLevel pickleCompression = CompressionLevel.NoCompression, CompressionLevel storageCompression = CompressionLevel.NoCompression)
    {
        var archive = Path.GetFileNameWithoutExtension(path);
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        Add(zip, $"{archive}/data.pkl", pickle, pickleCompression);
        for (int i = 0; i < storages.Count; i++) Add(zip, $"{archive}/data/{i}", storages[i], storageCompression);
        Add(zip, $"{archive}/version", Encoding.ASCII.GetBytes("3\n"));
    }

    private static void Add(ZipArchive zip, string name, byte[] data, CompressionLevel compression = CompressionLevel.NoCompression)
    {
        using var s = zip.CreateEntry(name, compression).Open();
        s.Write(data);
    }
}
