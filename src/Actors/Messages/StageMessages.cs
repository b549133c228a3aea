using Akka.Actor;
using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Wire;

namespace SelfForcing.Actors.Messages;

public enum Stage { TextEncode, Denoise, Decode, Encode }

/// <summary>A unit of stage work; (Stage, StreamId, Chunk) identifies it, so a resend after a failure is idempotent.</summary>
public interface IStageJob
{
    Stage Stage { get; }
    string StreamId { get; }
    int Chunk { get; }
}

/// <summary>A job whose answer goes to a named actor rather than to its sender (the decode stage hands pixels to the encoder).</summary>
public interface IRoutedJob
{
    IActorRef ReplyTo { get; }
}

/// <summary>A stage's answer to a job.</summary>
public interface IStageResult
{
    string StreamId { get; }
    int Chunk { get; }
}

/// <param name="FromChunk">0 for the stream's first prompt; for a prompt switch, the first chunk it applies to.</param>
public sealed record TextEncodeJob(string StreamId, string Prompt, int FromChunk = 0) : IStageJob, IWireMessage
{
    public Stage Stage => Stage.TextEncode;
    public int Chunk => -1;
}

/// <summary>The prompt's conditioning [1, L, D] (as the text encoder made it, float32 or bfloat16).</summary>
public sealed record TextEncoded(string StreamId, WireTensor Conditioning, int FromChunk = 0) : IStageResult, IWireMessage
{
    public int Chunk => -1;
}

/// <summary>
/// Decode a chunk's latents from the decoder state <paramref name="State"/>; the pixels go straight to
/// <paramref name="Encoder"/>, the new state and timing to the session (the sender).
/// </summary>
/// <param name="FirstFrame">Index of the chunk's first video frame in its stream.</param>
public sealed record DecodeJob(StreamSpec Spec, int Chunk, int FirstFrame, WireTensor Latents, DecoderSnapshot State, IActorRef Encoder)
    : IStageJob, IWireMessage
{
    public Stage Stage => Stage.Decode;
    public string StreamId => Spec.StreamId;
}

/// <summary>Metadata of a decoded chunk (its pixels went to the encoder) and the decoder state after it.</summary>
public sealed record ChunkDecoded(string StreamId, int Chunk, DecoderSnapshot Next, int Frames, double Seconds = 0) : IStageResult, IWireMessage;

/// <summary>One chunk's frames as RGB24 (frame-major, <c>Frames × Height × Width × 3</c>), from the decoder to the encoder.</summary>
public sealed record EncodeJob(StreamSpec Spec, int Chunk, int FirstFrame, int Frames, int Height, int Width, byte[] Rgb, double DecodeSeconds,
    IActorRef ReplyTo) : IStageJob, IRoutedJob, IWireMessage
{
    public Stage Stage => Stage.Encode;
    public string StreamId => Spec.StreamId;
}

/// <param name="DecodeSeconds">The decode stage's time for this chunk (passed along with the frames).</param>
public sealed record ChunkEncoded(string StreamId, int Chunk, EncodedChunk Output, double Seconds = 0, double DecodeSeconds = 0) : IStageResult, IWireMessage;

/// <summary>A job that failed its stage <c>Attempts</c> times (or once, for a failure no retry can fix); fails only its stream.</summary>
public sealed record StageJobFailed(Stage Stage, string StreamId, int Chunk, int Attempts, string Reason, FailureKind Kind) : IStageResult, IWireMessage;

/// <summary>The stream ended: the decode stage frees the decoder state it keeps for it.</summary>
public sealed record ReleaseDecoder(string StreamId) : IWireMessage;
