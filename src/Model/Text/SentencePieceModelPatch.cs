namespace SelfForcing.Model.Text;

/// <summary>
/// Minimal protobuf surgery on a SentencePiece <c>ModelProto</c> so Microsoft.ML.Tokenizers 2.0.1 can load T5
/// models. T5/mT5/UMT5 models have no BOS (<c>trainer_spec.bos_id = -1</c>), and the library's Unigram
/// constructor indexes its vocabulary with the BOS id unconditionally (IndexOutOfRangeException). We point
/// bos_id at the EOS id instead: the library only uses it to name a control piece, we never ask it to emit a
/// BOS, and the segmentation trie is built before special ids are registered, so ids are unchanged.
/// The override is appended as a second <c>trainer_spec</c> field, which protobuf merges into the first.
/// </summary>
public static class SentencePieceModelPatch
{
    private const int TrainerSpecField = 2;
    private const int BosIdField = 41;
    private const int EosIdField = 42;

    /// <summary>(bos_id, eos_id) from trainer_spec, with the proto defaults (1, 2) when absent.</summary>
    public static (int BosId, int EosId) ReadSpecialIds(ReadOnlySpan<byte> model)
    {
        int bos = 1, eos = 2;
        int pos = 0;
        while (pos < model.Length)
        {
            ulong tag = ReadVarint(model, ref pos);
            int field = (int)(tag >> 3), wire = (int)(tag & 7);
            if (field == TrainerSpecField && wire == 2)
            {
                int len = checked((int)ReadVarint(model, ref pos));
                var spec = model.Slice(pos, len);
                int p = 0;
                while (p < spec.Length)
                {
                    ulong t = ReadVarint(spec, ref p);
                    int f = (int)(t >> 3), w = (int)(t & 7);
                    if (w == 0 && (f == BosIdField || f == EosIdField))
                    {
                        int v = unchecked((int)ReadVarint(spec, ref p));
                        if (f == BosIdField) bos = v; else eos = v;
                    }
                    else Skip(spec, ref p, w);
                }
                pos += len;
            }
            else Skip(model, ref pos, wire);
        }
        return (bos, eos);
    }

    /// <summary>Returns the model unchanged when it has a BOS, else a copy whose bos_id equals its eos_id.</summary>
    public static byte[] EnsureBosId(byte[] model)
    {
        var (bos, eos) = ReadSpecialIds(model);
        if (bos >= 0) return model;
        if (eos < 0) throw new InvalidDataException("SentencePiece model has neither a BOS nor an EOS id.");
        var extra = new List<byte>();
        WriteVarint(extra, (ulong)(BosIdField << 3));
        WriteVarint(extra, (ulong)eos);
        var patched = new List<byte>(model.Length + extra.Count + 8);
        patched.AddRange(model);
        WriteVarint(patched, (ulong)((TrainerSpecField << 3) | 2));
        WriteVarint(patched, (ulong)extra.Count);
        patched.AddRange(extra);
        return patched.ToArray();
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> b, ref int pos)
    {
        ulong v = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (pos >= b.Length) throw new InvalidDataException("Truncated varint in SentencePiece model.");
            byte x = b[pos++];
            v |= (ulong)(x & 0x7F) << shift;
            if ((x & 0x80) == 0) return v;
        }
        throw new InvalidDataException("Malformed varint in SentencePiece model.");
    }

    private static void Skip(ReadOnlySpan<byte> b, ref int pos, int wire)
    {
        switch (wire)
        {
            case 0: ReadVarint(b, ref pos); break;
            case 1: pos += 8; break;
            case 2: { int len = checked((int)ReadVarint(b, ref pos)); pos += len; break; }
            case 5: pos += 4; break;
            default: throw new InvalidDataException($"Unsupported protobuf wire type {wire} in SentencePiece model.");
        }
        if (pos > b.Length) throw new InvalidDataException("Truncated SentencePiece model.");
    }

    private static void WriteVarint(List<byte> outp, ulong v)
    {
        while (v >= 0x80) { outp.Add((byte)(v | 0x80)); v >>= 7; }
        outp.Add((byte)v);
    }
}
