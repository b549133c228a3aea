using SelfForcing.Actors.Messages;

namespace SelfForcing.Actors.Streams;

/// <summary>
/// Where each chunk's time goes outside the stages' own work, on the session's clock. A chunk's path is sequential
/// (denoise, then decode, then encode), so what is left of ready-to-encoded after the three stage times is waiting:
/// held by the session (backpressure, or the decoder busy with the previous chunk) or in messages and mailboxes.
/// </summary>
internal sealed class ChunkWaits
{
    private readonly Dictionary<int, double> _ready = new();
    private readonly Dictionary<int, double> _denoiseSent = new();
    private readonly Dictionary<int, (double At, double Seconds)> _denoised = new();
    private readonly Dictionary<int, double> _decodeSent = new();

    /// <summary>The chunk is next to denoise (the stream opened, or the previous chunk came back); the first call counts.</summary>
    public void Ready(int chunk, double now) => _ready.TryAdd(chunk, now);

    /// <summary>Sent to the denoiser; a re-send after a lost node counts from the last one.</summary>
    public void DenoiseSent(int chunk, double now) => _denoiseSent[chunk] = now;

    /// <summary>Back from the denoiser, which worked on it for <paramref name="seconds"/>.</summary>
    public void Denoised(int chunk, double now, double seconds) => _denoised[chunk] = (now, seconds);

    public void DecodeSent(int chunk, double now) => _decodeSent[chunk] = now;

    /// <summary>The chunk came back encoded: its timings, with the waits; its records are dropped.</summary>
    public ChunkTimings Complete(int chunk, double now, double decode, double encode)
    {
        double ready = Take(_ready, chunk, now);
        double denoiseSent = Take(_denoiseSent, chunk, ready);
        var (denoised, denoise) = _denoised.Remove(chunk, out var d) ? d : (denoiseSent, 0.0);
        double decodeSent = Take(_decodeSent, chunk, denoised);
        double heldBeforeDenoise = denoiseSent - ready;
        double heldBeforeDecode = decodeSent - denoised;
        double transit = now - ready - denoise - decode - encode - heldBeforeDenoise - heldBeforeDecode;
        return new ChunkTimings(denoise, decode, encode, heldBeforeDenoise, heldBeforeDecode, Math.Max(0, transit));
    }

    private static double Take(Dictionary<int, double> times, int chunk, double fallback) =>
        times.Remove(chunk, out var t) ? t : fallback;
}
