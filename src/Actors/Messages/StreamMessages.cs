using System.Threading.Channels;

namespace SelfForcing.Actors.Messages;

/// <summary>What a client asks for. Seed −1 picks a random seed (reported back); Chunks null = unbounded (rolling cache).</summary>
public sealed record StreamRequest(string Prompt, long Seed = -1, int? Chunks = 3, int Fps = 16, string Decoder = "preview",
    int? LatentHeight = null, int? LatentWidth = null);

/// <summary>One chunk's frames, ready to publish: RGB24, frame-major, <c>Frames × Height × Width × 3</c> bytes.</summary>
public sealed record EncodedChunk(string StreamId, int Chunk, int FirstFrame, int Frames, int Width, int Height, int Fps, byte[] Rgb);

public sealed record StartStream(StreamRequest Request);

public sealed record StreamStarted(string StreamId, long Seed, int? TotalChunks, ChannelReader<EncodedChunk> Output);

public sealed record StreamRejected(string Reason);

public sealed record CancelStream(string StreamId);

public sealed record GetStreamStatus(string StreamId);

public enum StreamPhase { Starting, Running, Completed, Cancelled, Failed }

public sealed record StreamStatus(string StreamId, StreamPhase Phase, int ChunksDelivered, string? Error);

/// <summary>Raised through a stream's channel when the stream fails (a stage failed its chunk too often, bad input, …).</summary>
public sealed class StreamFailedException(string streamId, string reason) : Exception($"stream {streamId} failed: {reason}")
{
    public string StreamId { get; } = streamId;
    public string Reason { get; } = reason;
}
