using SelfForcing.Model.Text;

namespace SelfForcing.Model.Tests.Golden.Text;

/// <summary>
/// kind 'tokenizer': the reference's HuggingfaceTokenizer (cleaning + SentencePiece + EOS/truncate/pad) on the
/// sidecar's prompts with the sidecar's SentencePiece model; ids, mask and seq_lens must be identical.
/// </summary>
public sealed class TokenizerParityCheck : IParityCheck
{
    public string Kind => "tokenizer";

    public void Run(GoldenCase golden)
    {
        var tokenizer = CreateTokenizer(golden);
        var prompts = golden.Config.GetProperty("prompts").EnumerateArray().Select(p => p.GetString()!).ToList();
        var tokens = tokenizer.Tokenize(prompts);

        // Per-prompt diagnostics first: they name the prompt and stage that diverged.
        if (golden.Sidecar.TryGetProperty("extra", out var extra) && extra.TryGetProperty("per_prompt", out var perPrompt))
        {
            foreach (var p in perPrompt.EnumerateArray())
            {
                var prompt = p.GetProperty("prompt").GetString()!;
                var cleaned = tokenizer.Clean(prompt);
                if (p.TryGetProperty("cleaned", out var c))
                    Assert.True(c.GetString() == cleaned, $"{golden.Name}: cleaning of '{prompt}' gave '{cleaned}', expected '{c.GetString()}'");
                if (p.TryGetProperty("ids_untruncated", out var u))
                {
                    var expected = u.EnumerateArray().Select(e => e.GetInt64()).ToArray();
                    var actual = tokenizer.EncodeCleaned(cleaned).Select(i => (long)i).Append(tokenizer.EosId).ToArray();
                    Assert.True(expected.SequenceEqual(actual),
                        $"{golden.Name}: ids of '{cleaned}': [{string.Join(",", actual)}] != expected [{string.Join(",", expected)}]");
                }
            }
        }

        using var ids = tokens.IdsTensor();
        using var mask = tokens.MaskTensor();
        using var seqLens = tokens.SeqLensTensor();
        golden.AssertMatches("expected.ids", ids);
        golden.AssertMatches("expected.mask", mask);
        golden.AssertMatches("expected.seq_lens", seqLens);
    }

    internal static UmT5Tokenizer CreateTokenizer(GoldenCase golden)
    {
        var cfg = golden.Config;
        var modelFile = cfg.TryGetProperty("model_file", out var mf) ? mf.GetString()! : golden.Sidecar.GetProperty("side_files")[0].GetString()!;
        return UmT5Tokenizer.FromModelFile(
            golden.SideFile(modelFile),
            textLen: cfg.GetProperty("text_len").GetInt32(),
            clean: cfg.TryGetProperty("clean", out var cl) ? cl.GetString()! : "whitespace",
            padId: cfg.TryGetProperty("pad_id", out var pad) ? pad.GetInt32() : 0,
            eosId: cfg.TryGetProperty("eos_id", out var eos) ? eos.GetInt32() : 1);
    }
}
