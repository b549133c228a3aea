using SelfForcing.Training.Randomness;
using static TorchSharp.torch;

namespace SelfForcing.Training.Dmd;

/// <summary>
/// The part of a rollout that the DMD loss and the critic score (<see cref="DmdSettings.ScoreWindowFrames"/>): a
/// teacher trained on clips of a few chunks gives a meaningful score only on clips of that length, so a long rollout
/// — the student practising what comes late in a stream, with its own frames in the cache — is scored one window of
/// whole chunks at a time, its start drawn uniformly.
/// </summary>
public static class ScoreWindow
{
    /// <summary>The draw's role: one start for the whole batch, shared by data-parallel replicas.</summary>
    public const string Role = "score window";

    /// <summary>Frames [start, start + frames) of <paramref name="video"/> [B, F, C, H, W]; the video itself when the
    /// window is 0 or not shorter than the rollout (no draw is made then, so such runs draw exactly as before).</summary>
    public static Tensor Take(Tensor video, int frames, int framesPerBlock, ITrainingRandom random)
    {
        long total = video.shape[1];
        if (frames <= 0 || frames >= total) return video;
        if (frames % framesPerBlock != 0 || total % framesPerBlock != 0)
            throw new ArgumentException($"a score window of {frames} frames over a rollout of {total} must be whole chunks of {framesPerBlock}");
        long starts = (total - frames) / framesPerBlock + 1;
        using var draw = random.RandInt(0, starts, [1], Role);
        return video.narrow(1, draw.item<long>() * framesPerBlock, frames);
    }
}
