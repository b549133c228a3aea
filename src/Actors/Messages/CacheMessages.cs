using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Wire;

namespace SelfForcing.Actors.Messages;

/// <summary>The conditioning that applies from <paramref name="FromChunk"/> on (0: the stream's first prompt).</summary>
public sealed record ChunkConditioning(int FromChunk, WireTensor Conditioning);

/// <summary>
/// Session → denoiser node: allocate the stream's KV cache. With <paramref name="Replay"/> &gt; 0 (the stream moves
/// here from a lost node), the node first recomputes chunks 0..Replay−1 from prompt and seed — deterministic, so the
/// cache ends bit for bit where the lost one was — and answers <see cref="StreamOpened"/> when it can go on.
/// </summary>
public sealed record OpenStream(StreamSpec Spec, IReadOnlyList<ChunkConditioning> Conditioning, int Replay = 0) : IWireMessage;

public sealed record StreamOpened(string StreamId, int Committed) : IWireMessage;

public sealed record OpenStreamFailed(string StreamId, string Reason, FailureKind Kind) : IWireMessage;

/// <summary>Session → denoiser node: denoise the next chunk; answered by <see cref="ChunkDenoised"/> or <see cref="StageJobFailed"/>.</summary>
public sealed record DenoiseChunk(string StreamId, int Chunk) : IWireMessage;

/// <summary>The chunk's x0 latents [1, F, C, h, w] (the denoiser's dtype); its context pass has already written the cache.</summary>
public sealed record ChunkDenoised(string StreamId, int Chunk, WireTensor Latents, double Seconds = 0) : IStageResult, IWireMessage;

/// <summary>A new prompt's conditioning for chunks from <paramref name="FromChunk"/> on.</summary>
public sealed record SwitchConditioning(string StreamId, int FromChunk, WireTensor Conditioning) : IWireMessage;

/// <summary>The stream ended (or moved): free its cache on this node.</summary>
public sealed record CloseStream(string StreamId) : IWireMessage;

/// <summary>Asks a denoiser node how many streams it takes (its own <c>pipeline.max-streams</c>).</summary>
public sealed record GetDenoiserCapacity : IWireMessage;

public sealed record DenoiserCapacity(int MaxStreams) : IWireMessage;

public sealed record GetCacheState : Akka.Actor.INoSerializationVerificationNeeded;

/// <summary>Streams the cache owner holds, with their committed chunk counts, and the bytes held.</summary>
public sealed record CacheState(IReadOnlyDictionary<string, int> CommittedChunks, long Bytes) : Akka.Actor.INoSerializationVerificationNeeded;
