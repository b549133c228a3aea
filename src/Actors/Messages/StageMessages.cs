using SelfForcing.Actors.Engines;
using SelfForcing.Model.Dit;
using static TorchSharp.torch;

namespace SelfForcing.Actors.Messages;

public enum Stage { TextEncode, Denoise, Decode, Encode }

/// <summary>A unit of stage work; (Stage, StreamId, Chunk) identifies it, so a resend after a failure is idempotent.</summary>
public interface IStageJob
{
    Stage Stage { get; }
    string StreamId { get; }
    int Chunk { get; }
}

/// <summary>A stage's answer to a job.</summary>
public interface IStageResult
{
    string StreamId { get; }
    int Chunk { get; }
}

/// <param name="FromChunk">0 for the stream's first prompt; for a prompt switch, the first chunk it applies to.</param>
public sealed record TextEncodeJob(string StreamId, string Prompt, int FromChunk = 0) : IStageJob
{
    public Stage Stage => Stage.TextEncode;
    public int Chunk => -1;
}

public sealed record TextEncoded(string StreamId, Tensor Conditioning, int FromChunk = 0) : IStageResult
{
    public int Chunk => -1;
}

/// <summary>Sent by the coordinator to the cache owner, which attaches the stream's cache and forwards a <see cref="DenoiseJob"/>.</summary>
public sealed record DenoiseRequest(string StreamId, int Chunk);

public sealed record DenoiseJob(StreamSpec Spec, int Chunk, KvCache Cache, Tensor Conditioning) : IStageJob
{
    public Stage Stage => Stage.Denoise;
    public string StreamId => Spec.StreamId;
}

/// <summary>The chunk's x0 latents [1, F, C, h, w]; its context pass has already written the cache.</summary>
public sealed record ChunkDenoised(string StreamId, int Chunk, Tensor Latents, double Seconds = 0) : IStageResult;

public sealed record DecodeJob(StreamSpec Spec, int Chunk, Tensor Latents, IDecoderState State) : IStageJob
{
    public Stage Stage => Stage.Decode;
    public string StreamId => Spec.StreamId;
}

public sealed record ChunkDecoded(string StreamId, int Chunk, Tensor Pixels, IDecoderState Next, double Seconds = 0) : IStageResult;

public sealed record EncodeJob(StreamSpec Spec, int Chunk, int FirstFrame, Tensor Pixels) : IStageJob
{
    public Stage Stage => Stage.Encode;
    public string StreamId => Spec.StreamId;
}

public sealed record ChunkEncoded(string StreamId, int Chunk, EncodedChunk Output, double Seconds = 0) : IStageResult;

/// <summary>A job that failed its stage <c>Attempts</c> times; fails only its stream.</summary>
public sealed record StageJobFailed(Stage Stage, string StreamId, int Chunk, int Attempts, string Reason, bool OutOfMemory) : IStageResult;
