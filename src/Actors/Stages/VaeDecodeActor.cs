using Akka.Actor;
using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Faults;
using SelfForcing.Actors.Messages;
using SelfForcing.Actors.Metrics;

namespace SelfForcing.Actors.Stages;

/// <summary>Decodes one chunk from the decoder snapshot the job carries, returning pixels and the next snapshot.</summary>
public sealed class VaeDecodeActor : StageWorker
{
    private readonly IDecodeEngine _engine;

    public VaeDecodeActor(IDecodeEngine engine, FaultInjector faults, StageTimeline? timeline) : base(Stage.Decode, faults, timeline) =>
        _engine = engine;

    public static Props Props(IDecodeEngine engine, FaultInjector faults, StageTimeline? timeline) =>
        Akka.Actor.Props.Create(() => new VaeDecodeActor(engine, faults, timeline));

    protected override IStageResult Process(IStageJob job, Action<int> checkpoint)
    {
        var j = (DecodeJob)job;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (pixels, next) = _engine.Decode(j.Spec.Decoder, j.State, j.Latents);
        pixels.DetachFromDisposeScope();
        try
        {
            checkpoint(0); // decoded, state advanced, not yet answered
        }
        catch
        {
            pixels.Dispose();
            next.Dispose();
            throw;
        }
        return new ChunkDecoded(j.StreamId, j.Chunk, pixels, next, clock.Elapsed.TotalSeconds);
    }
}
