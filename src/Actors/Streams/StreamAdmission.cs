using SelfForcing.Actors.Messages;

namespace SelfForcing.Actors.Streams;

/// <summary>What a start request must satisfy before a stream is admitted; each problem names its field.</summary>
public static class StreamAdmission
{
    public static (string Problem, string Field)? Check(StreamRequest r, IReadOnlyCollection<string> decoders, bool rolling, int maxChunks) =>
        r.Prompt is null ? ("prompt is missing", "prompt")
        : PromptProblem(r.Prompt) is string p ? (p, "prompt")
        : r.Chunks is < 1 or > 100_000 ? ($"chunks must be between 1 and 100000 (got {r.Chunks})", "chunks")
        : r.Chunks > maxChunks ? ($"chunks must be at most {maxChunks}: the model's RoPE covers {Model.Dit.RotaryEmbedding.MaxPositions} latent frames (got {r.Chunks})", "chunks")
        : r.Chunks is null && !rolling ? ("an unbounded stream needs a model configured with rolling attention (local_attn_size > 0)", "chunks")
        : !(r.Fps >= 1 && r.Fps <= 120) ? ($"fps must be between 1 and 120 (got {r.Fps})", "fps")
        : !decoders.Contains(r.Decoder) ? ($"decoder '{r.Decoder}' is not available (have: {string.Join(", ", decoders)})", "decoder")
        : r.LatentHeight is < 2 or > 512 || r.LatentWidth is < 2 or > 512 || r.LatentHeight % 2 == 1 || r.LatentWidth % 2 == 1
            ? ("latent height/width must be even and between 2 and 512", "latent_height")
        : r.Seed < -1 ? ("seed must be >= 0, or -1 for a random seed", "seed")
        : null;

    public static string? PromptProblem(string prompt) =>
        prompt.Length > 100_000 ? $"prompt is {prompt.Length} characters; the limit is 100000"
        : string.IsNullOrWhiteSpace(prompt) ? "prompt is empty"
        : null;

    /// <summary>
    /// Stream ids are random, not a counter: published subjects and JetStream message ids outlive this process, and
    /// a reused id would replay (or be de-duplicated against) an earlier run's messages.
    /// </summary>
    public static string NewStreamId() => "s" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6));
}
