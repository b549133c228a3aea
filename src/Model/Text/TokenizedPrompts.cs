using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Model.Text;

/// <summary>
/// Tokenizer output for a batch, in the reference layout: ids and attention mask [B, text_len] (content, EOS,
/// then pad id 0 with mask 0), and seq_lens = number of mask ones per row (the embedding rows that stay non-zero).
/// </summary>
public sealed class TokenizedPrompts
{
    public TokenizedPrompts(long[][] ids, long[][] mask)
    {
        if (ids.Length != mask.Length) throw new ArgumentException("ids and mask must have the same number of rows.");
        Ids = ids;
        Mask = mask;
        SeqLens = mask.Select(row => row.LongCount(m => m != 0)).ToArray();
    }

    public IReadOnlyList<long[]> Ids { get; }
    public IReadOnlyList<long[]> Mask { get; }
    public long[] SeqLens { get; }
    public int Count => Ids.Count;
    public int TextLen => Ids.Count == 0 ? 0 : Ids[0].Length;

    /// <summary>input_ids int64 [B, text_len] on the CPU.</summary>
    public Tensor IdsTensor() => ToTensor(Ids);

    /// <summary>attention_mask int64 [B, text_len] on the CPU.</summary>
    public Tensor MaskTensor() => ToTensor(Mask);

    public Tensor SeqLensTensor() => tensor(SeqLens, dtype: ScalarType.Int64);

    private Tensor ToTensor(IReadOnlyList<long[]> rows)
    {
        var flat = new long[Count * TextLen];
        for (int i = 0; i < rows.Count; i++) Array.Copy(rows[i], 0, flat, i * TextLen, TextLen);
        return tensor(flat, dtype: ScalarType.Int64).reshape(Count, TextLen);
    }
}
