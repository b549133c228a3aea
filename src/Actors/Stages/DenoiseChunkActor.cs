using Akka.Actor;
using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Faults;
using SelfForcing.Actors.Messages;
using SelfForcing.Actors.Metrics;

namespace SelfForcing.Actors.Stages;

/// <summary>
/// Denoises one chunk and runs its context pass against the cache the cache owner lent it. A failed attempt may
/// leave partial writes in the chunk's own cache slots; the retry overwrites exactly those slots.
/// </summary>
public sealed class DenoiseChunkActor : StageWorker
{
    private readonly IDenoiseEngine _engine;

    public DenoiseChunkActor(IDenoiseEngine engine, FaultInjector faults, StageTimeline? timeline) : base(Stage.Denoise, faults, timeline) =>
        _engine = engine;

    public static Props Props(IDenoiseEngine engine, FaultInjector faults, StageTimeline? timeline) =>
        Akka.Actor.Props.Create(() => new DenoiseChunkActor(engine, faults, timeline));

    protected override IStageResult Process(IStageJob job, Action<int> checkpoint)
    {
        var j = (DenoiseJob)job;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var x0 = _engine.DenoiseChunk(j.Cache, j.Spec, j.Chunk, j.Conditioning, checkpoint);
        _engine.CommitChunk(j.Cache, j.Chunk, x0, j.Conditioning);
        checkpoint(-1); // after the context pass, before answering
        return new ChunkDenoised(j.StreamId, j.Chunk, x0.DetachFromDisposeScope(), clock.Elapsed.TotalSeconds);
    }
}
