using Akka.Actor;
using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Faults;
using SelfForcing.Actors.Messages;
using SelfForcing.Actors.Metrics;

namespace SelfForcing.Actors.Stages;

public sealed class TextEncodeActor : StageWorker
{
    private readonly ITextEncodeEngine _engine;

    public TextEncodeActor(ITextEncodeEngine engine, FaultInjector faults, StageTimeline? timeline) : base(Stage.TextEncode, faults, timeline) =>
        _engine = engine;

    public static Props Props(ITextEncodeEngine engine, FaultInjector faults, StageTimeline? timeline) =>
        Akka.Actor.Props.Create(() => new TextEncodeActor(engine, faults, timeline));

    protected override IStageResult Process(WorkOrder order, Action<int> checkpoint)
    {
        var j = (TextEncodeJob)order.Job;
        var conditioning = Wire.WireTensor.From(_engine.Encode(j.Prompt));
        checkpoint(0);
        return new TextEncoded(j.StreamId, conditioning, j.FromChunk);
    }
}
