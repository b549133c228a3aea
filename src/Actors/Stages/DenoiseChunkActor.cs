using Akka.Actor;
using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Faults;
using SelfForcing.Actors.Metrics;

namespace SelfForcing.Actors.Stages;

/// <summary>
/// Denoises one chunk and runs its context pass against the cache its handle names (the cache stays with the
/// <see cref="CacheOwnerActor"/> of this node). A failed attempt may leave partial writes in the chunk's own cache
/// slots; the retry overwrites exactly those slots.
/// </summary>
public sealed class DenoiseChunkActor : StageWorker
{
    private readonly StreamCaches _caches;

    public DenoiseChunkActor(StreamCaches caches, FaultInjector faults, StageTimeline? timeline) : base(Messages.Stage.Denoise, faults, timeline) =>
        _caches = caches;

    public static Props Props(StreamCaches caches, FaultInjector faults, StageTimeline? timeline) =>
        Akka.Actor.Props.Create(() => new DenoiseChunkActor(caches, faults, timeline));

    protected override Messages.IStageResult Process(WorkOrder order, Action<int> checkpoint)
    {
        var j = (DenoiseWork)order.Job;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var x0 = _caches.DenoiseChunk(j.Cache, j.Spec, j.Chunk, j.Conditioning, checkpoint);
        _caches.CommitChunk(j.Cache, j.Chunk, x0, j.Conditioning);
        checkpoint(-1); // after the context pass, before answering
        return new ChunkDenoisedLocally(j.StreamId, j.Chunk, x0.DetachFromDisposeScope(), clock.Elapsed.TotalSeconds);
    }
}
