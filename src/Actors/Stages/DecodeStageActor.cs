using Akka.Actor;
using SelfForcing.Actors.Messages;

namespace SelfForcing.Actors.Stages;

/// <summary>The decoder node's endpoint: decode jobs go to the supervised decode stage; releases free the stream's kept state.</summary>
public sealed class DecodeStageActor : ReceiveActor
{
    private readonly DecoderStates _states;

    public DecodeStageActor(IActorRef stage, DecoderStates states)
    {
        _states = states;
        Receive<DecodeJob>(j => stage.Forward(j));
        Receive<ReleaseDecoder>(r => states.Release(r.StreamId));
    }

    public static Props Props(IActorRef stage, DecoderStates states) => Akka.Actor.Props.Create(() => new DecodeStageActor(stage, states));

    protected override void PostStop() => _states.Dispose();
}
