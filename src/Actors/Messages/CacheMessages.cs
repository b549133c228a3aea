using SelfForcing.Actors.Engines;
using static TorchSharp.torch;

namespace SelfForcing.Actors.Messages;

public sealed record AllocateCache(StreamSpec Spec, Tensor Conditioning);

public sealed record CacheAllocated(string StreamId);

public sealed record CacheAllocationFailed(string StreamId, string Reason);

/// <summary>The chunk's context pass finished: its cache writes now count.</summary>
public sealed record CommitChunk(string StreamId, int Chunk);

public sealed record ReleaseCache(string StreamId);

public sealed record GetCacheState;

/// <summary>Streams the cache owner holds, with their committed chunk counts, and the bytes held.</summary>
public sealed record CacheState(IReadOnlyDictionary<string, int> CommittedChunks, long Bytes);
