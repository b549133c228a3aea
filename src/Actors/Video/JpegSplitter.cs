namespace SelfForcing.Actors.Video;

/// <summary>
/// Cuts concatenated JPEG images apart by walking their markers: length-prefixed segments up to SOS, then
/// entropy-coded data in which 0xFF is always followed by a stuffed 0x00 or a restart marker, up to EOI.
/// (Searching for FFD9 alone would break on an embedded thumbnail.)
/// </summary>
public static class JpegSplitter
{
    public static List<byte[]> Split(byte[] data)
    {
        var images = new List<byte[]>();
        int at = 0;
        while (at < data.Length)
        {
            int start = at;
            if (data.Length - at < 2 || data[at] != 0xFF || data[at + 1] != 0xD8) throw new InvalidDataException($"no JPEG start marker at byte {at}");
            at += 2;
            while (true)
            {
                if (at + 4 > data.Length) throw new InvalidDataException("truncated JPEG");
                if (data[at] != 0xFF) throw new InvalidDataException($"JPEG marker expected at byte {at}");
                byte marker = data[at + 1];
                if (marker == 0xFF) { at++; continue; } // fill byte
                int length = (data[at + 2] << 8) | data[at + 3];
                at += 2 + length;
                if (marker != 0xDA) continue; // not SOS
                // Entropy-coded segment: scan to the next marker that is neither stuffing nor RSTn.
                while (true)
                {
                    if (at + 1 >= data.Length) throw new InvalidDataException("truncated JPEG scan");
                    if (data[at] == 0xFF && data[at + 1] != 0x00 && data[at + 1] is < 0xD0 or > 0xD7) break;
                    at++;
                }
                if (data[at + 1] == 0xD9) { at += 2; break; } // EOI
                // Another marker (e.g. a progressive scan's next segment header): keep walking segments.
            }
            images.Add(data[start..at]);
        }
        return images;
    }
}
