using System.Threading.Channels;
using SelfForcing.Actors.Video;

namespace SelfForcing.Actors.Messages;

/// <summary>
/// What a client asks for. Seed −1 picks a random seed (reported back); Chunks null = unbounded (rolling cache).
/// <see cref="Format"/> chooses what the encode-to-stream stage makes of the pixels.
/// </summary>
public sealed record StreamRequest(string Prompt, long Seed = -1, int? Chunks = 3, double Fps = 16, string Decoder = "preview",
    int? LatentHeight = null, int? LatentWidth = null, StreamFormat Format = StreamFormat.Rgb24);

/// <summary>Seconds each stage spent on one chunk (processing only), and the chunk's waits between them.</summary>
/// <param name="HeldBeforeDenoise">Ready to denoise but held by the session (backpressure: too many chunks downstream).</param>
/// <param name="HeldBeforeDecode">Denoised but held by the session while the decoder finished an earlier chunk.</param>
/// <param name="InTransit">The rest of its time from ready to encoded: messages, copies, stage mailboxes (the encoder's
/// included, where a chunk waits while the encoder finishes the previous one).</param>
public sealed record ChunkTimings(double Denoise, double Decode, double Encode, double HeldBeforeDenoise = 0, double HeldBeforeDecode = 0,
    double InTransit = 0);

/// <summary>
/// One chunk, ready to publish. With <see cref="StreamFormat.Rgb24"/>, <see cref="Rgb"/> holds the frames
/// (frame-major, <c>Frames × Height × Width × 3</c> bytes) and <see cref="Payloads"/> is empty; with fMP4 or JPEG,
/// <see cref="Payloads"/> holds the messages to publish in order and <see cref="Rgb"/> is empty.
/// </summary>
public sealed record EncodedChunk(string StreamId, int Chunk, int FirstFrame, int Frames, int Width, int Height, double Fps, byte[] Rgb)
{
    public IReadOnlyList<StreamPayload> Payloads { get; init; } = [];
    public ChunkTimings Timings { get; init; } = new(0, 0, 0);
    /// <summary>The prompt this chunk was generated from.</summary>
    public string Prompt { get; init; } = "";
}

public sealed record StartStream(StreamRequest Request) : Akka.Actor.INoSerializationVerificationNeeded;

public sealed record StreamStarted(string StreamId, long Seed, int? TotalChunks, ChannelReader<EncodedChunk> Output) : Akka.Actor.INoSerializationVerificationNeeded;

/// <param name="Field">The request field at fault, when one is.</param>
/// <param name="AtCapacity">Rejected only because the server runs its maximum number of streams.</param>
public sealed record StreamRejected(string Reason, string? Field = null, bool AtCapacity = false) : Akka.Actor.INoSerializationVerificationNeeded;

/// <summary>Changes a running stream's prompt at the next chunk boundary; answered with <see cref="PromptSwitched"/> or <see cref="StreamRejected"/>.</summary>
public sealed record SwitchPrompt(string StreamId, string Prompt) : Akka.Actor.INoSerializationVerificationNeeded;

/// <summary>The new prompt conditions chunks from <paramref name="FromChunk"/> on; earlier chunks are exactly those of the old prompt.</summary>
public sealed record PromptSwitched(string StreamId, int FromChunk) : Akka.Actor.INoSerializationVerificationNeeded;

public sealed record CancelStream(string StreamId) : Akka.Actor.INoSerializationVerificationNeeded;

public sealed record GetStreamStatus(string StreamId) : Akka.Actor.INoSerializationVerificationNeeded;

public enum StreamPhase { Starting, Running, Completed, Cancelled, Failed }

public sealed record StreamStatus(string StreamId, StreamPhase Phase, int ChunksDelivered, string? Error) : Akka.Actor.INoSerializationVerificationNeeded;

/// <summary>Raised through a stream's channel when the stream fails (a stage failed its chunk too often, bad input, …).</summary>
public sealed class StreamFailedException(string streamId, string reason) : Exception($"stream {streamId} failed: {reason}")
{
    public string StreamId { get; } = streamId;
    public string Reason { get; } = reason;
}
