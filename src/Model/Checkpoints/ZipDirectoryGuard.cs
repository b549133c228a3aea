using System.Buffers.Binary;

namespace SelfForcing.Model.Checkpoints;

/// <summary>
/// Counts a zip's central-directory records before <see cref="System.IO.Compression.ZipArchive"/> sees the file:
/// ZipArchive materialises every entry when it opens, so an archive of millions of tiny records would exhaust memory
/// before any check on its entries could run. It walks the records the way ZipArchive will (from the directory
/// offset, while the record signature matches), so a lying entry count in the end record changes nothing.
/// Anything it cannot make sense of is left for ZipArchive to report as corruption.
/// </summary>
internal static class ZipDirectoryGuard
{
    private const uint EndOfDirectorySignature = 0x06054b50;
    private const uint Zip64EndLocatorSignature = 0x07064b50;
    private const uint Zip64EndSignature = 0x06064b50;
    private const uint DirectoryRecordSignature = 0x02014b50;
    private const int EndOfDirectoryBytes = 22;
    private const int DirectoryRecordBytes = 46;

    public static void Check(string path)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        long start;
        try
        {
            if (DirectoryStart(fs) is not long s) return;
            start = s;
        }
        catch (EndOfStreamException) { return; }

        fs.Position = start;
        Span<byte> record = stackalloc byte[DirectoryRecordBytes];
        int count = 0;
        while (fs.Read(record) == DirectoryRecordBytes && BinaryPrimitives.ReadUInt32LittleEndian(record) == DirectoryRecordSignature)
        {
            if (++count > CheckpointLimits.MaxZipEntries)
                throw new CheckpointFormatException(CheckpointHazard.TooManyZipEntries,
                    $"{path}: zip archive has more than {CheckpointLimits.MaxZipEntries} entries");
            long skip = BinaryPrimitives.ReadUInt16LittleEndian(record[28..]) + BinaryPrimitives.ReadUInt16LittleEndian(record[30..])
                        + BinaryPrimitives.ReadUInt16LittleEndian(record[32..]);
            fs.Seek(skip, SeekOrigin.Current);
        }
    }

    /// <summary>Offset of the first central-directory record, from the end record (or its zip64 form); null when there is none.</summary>
    private static long? DirectoryStart(FileStream fs)
    {
        long length = fs.Length;
        int tail = (int)Math.Min(length, EndOfDirectoryBytes + ushort.MaxValue);
        if (tail < EndOfDirectoryBytes) return null;
        var buf = new byte[tail];
        fs.Position = length - tail;
        fs.ReadExactly(buf);
        int eocd = -1;
        for (int i = tail - EndOfDirectoryBytes; i >= 0; i--)
            if (BinaryPrimitives.ReadUInt32LittleEndian(buf.AsSpan(i)) == EndOfDirectorySignature) { eocd = i; break; }
        if (eocd < 0) return null;
        long start = BinaryPrimitives.ReadUInt32LittleEndian(buf.AsSpan(eocd + 16));
        if (start != uint.MaxValue) return start < length ? start : null;

        // Zip64: a locator just before the end record points at the zip64 end record, which holds the real offset.
        long locator = length - tail + eocd - 20;
        if (locator < 0) return null;
        Span<byte> loc = stackalloc byte[20];
        fs.Position = locator;
        fs.ReadExactly(loc);
        if (BinaryPrimitives.ReadUInt32LittleEndian(loc) != Zip64EndLocatorSignature) return null;
        long z64 = (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(loc[8..]), (ulong)long.MaxValue);
        if (z64 > length - 56) return null;
        Span<byte> end = stackalloc byte[56];
        fs.Position = z64;
        fs.ReadExactly(end);
        if (BinaryPrimitives.ReadUInt32LittleEndian(end) != Zip64EndSignature) return null;
        ulong s64 = BinaryPrimitives.ReadUInt64LittleEndian(end[48..]);
        return s64 < (ulong)length ? (long)s64 : null;
    }
}
