using System.Buffers.Binary;

namespace SelfForcing.Actors.Video;

/// <summary>
/// Just enough ISO-BMFF to cut ffmpeg's fragmented MP4 into an init segment (ftyp + moov) and media fragments
/// (moof + mdat), and to renumber a fragment (mfhd sequence, tfdt decode time) so fragments encoded one chunk
/// at a time join into one continuous stream.
/// </summary>
public static class Mp4Boxes
{
    public readonly record struct Box(string Type, int Offset, int Length, int HeaderLength);

    /// <summary>The boxes directly inside <paramref name="data"/>[start, end).</summary>
    public static List<Box> Children(ReadOnlySpan<byte> data, int start, int end)
    {
        var boxes = new List<Box>();
        int at = start;
        while (at < end)
        {
            if (end - at < 8) throw new InvalidDataException($"truncated MP4 box header at byte {at}");
            long size = BinaryPrimitives.ReadUInt32BigEndian(data[at..]);
            string type = System.Text.Encoding.ASCII.GetString(data.Slice(at + 4, 4));
            int header = 8;
            if (size == 1)
            {
                if (end - at < 16) throw new InvalidDataException($"truncated MP4 large box header at byte {at}");
                size = (long)BinaryPrimitives.ReadUInt64BigEndian(data[(at + 8)..]);
                header = 16;
            }
            else if (size == 0) size = end - at;
            if (size < header || size > end - at) throw new InvalidDataException($"MP4 box '{type}' at byte {at} claims {size} bytes; {end - at} remain");
            boxes.Add(new Box(type, at, (int)size, header));
            at += (int)size;
        }
        return boxes;
    }

    /// <summary>Splits ffmpeg's output into its init segment and its moof + mdat fragments.</summary>
    public static (byte[] Init, List<byte[]> Fragments) Split(byte[] file)
    {
        var init = new MemoryStream();
        var fragments = new List<byte[]>();
        byte[]? moof = null;
        foreach (var box in Children(file, 0, file.Length))
        {
            var bytes = file.AsSpan(box.Offset, box.Length);
            switch (box.Type)
            {
                case "ftyp" or "moov": init.Write(bytes); break;
                case "moof": moof = bytes.ToArray(); break;
                case "mdat" when moof is not null:
                    fragments.Add([.. moof, .. bytes]);
                    moof = null;
                    break;
                // styp/sidx/mfra/free carry nothing a player of this stream needs.
            }
        }
        if (init.Length == 0) throw new InvalidDataException("ffmpeg's output has no ftyp/moov init segment");
        return (init.ToArray(), fragments);
    }

    /// <summary>Sets the fragment's sequence number and every track's base media decode time, in place.</summary>
    public static void Renumber(byte[] fragment, uint sequence, ulong baseMediaDecodeTime)
    {
        var top = Children(fragment, 0, fragment.Length);
        var moof = top.FirstOrDefault(b => b.Type == "moof");
        if (moof.Type is null) throw new InvalidDataException("fragment has no moof box");
        bool sawMfhd = false, sawTfdt = false;
        foreach (var child in Children(fragment, moof.Offset + moof.HeaderLength, moof.Offset + moof.Length))
        {
            if (child.Type == "mfhd")
            {
                // full box: version + flags (4), sequence_number (4)
                BinaryPrimitives.WriteUInt32BigEndian(fragment.AsSpan(child.Offset + child.HeaderLength + 4), sequence);
                sawMfhd = true;
            }
            else if (child.Type == "traf")
            {
                foreach (var t in Children(fragment, child.Offset + child.HeaderLength, child.Offset + child.Length))
                {
                    if (t.Type != "tfdt") continue;
                    int body = t.Offset + t.HeaderLength;
                    if (fragment[body] == 1) BinaryPrimitives.WriteUInt64BigEndian(fragment.AsSpan(body + 4), baseMediaDecodeTime);
                    else if (baseMediaDecodeTime <= uint.MaxValue) BinaryPrimitives.WriteUInt32BigEndian(fragment.AsSpan(body + 4), (uint)baseMediaDecodeTime);
                    else throw new InvalidDataException("decode time exceeds a version-0 tfdt box");
                    sawTfdt = true;
                }
            }
        }
        if (!sawMfhd || !sawTfdt) throw new InvalidDataException("fragment lacks an mfhd or tfdt box");
    }
}
