using Akka.Actor;
using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Faults;
using SelfForcing.Actors.Messages;
using SelfForcing.Actors.Metrics;
using SelfForcing.Actors.Stages;

namespace SelfForcing.Actors.Streams;

/// <summary>Starts the stage endpoints of the roles a node has: each a supervised stage on its own thread and device.</summary>
public static class StageEndpointFactory
{
    /// <param name="name">Actor name of a role's endpoint (the cluster looks them up by these names).</param>
    public static IReadOnlyDictionary<NodeRole, IActorRef> Start(IActorRefFactory system, IEnumerable<NodeRole> roles, PipelineSettings settings,
        PipelineEngines engines, FaultInjector faults, StageTimeline? timeline, Func<NodeRole, string> name)
    {
        IActorRef Supervised(Stage stage, Props worker, string id) =>
            system.ActorOf(StageSupervisor.Props(stage, worker, settings), $"{id}-stage");
        var endpoints = new Dictionary<NodeRole, IActorRef>();
        foreach (var role in roles.Distinct())
        {
            string id = name(role);
            switch (role)
            {
                case NodeRole.TextEncoder:
                    endpoints[role] = system.ActorOf(StageSupervisor.Props(Stage.TextEncode, TextEncodeActor.Props(engines.Text, faults, timeline), settings), id);
                    break;
                case NodeRole.Denoiser:
                    var caches = new StreamCaches(engines.Denoise);
                    var denoise = Supervised(Stage.Denoise, DenoiseChunkActor.Props(caches, faults, timeline), id);
                    endpoints[role] = system.ActorOf(CacheOwnerActor.Props(caches, denoise, settings.MaxStreams).WithDispatcher(settings.WorkerDispatcher), id);
                    break;
                case NodeRole.Decoder:
                    var states = new DecoderStates(engines.Decode);
                    var decode = Supervised(Stage.Decode, VaeDecodeActor.Props(engines.Decode, states, faults, timeline), id);
                    endpoints[role] = system.ActorOf(DecodeStageActor.Props(decode, states), id);
                    break;
                case NodeRole.Publisher:
                    endpoints[role] = system.ActorOf(StageSupervisor.Props(Stage.Encode, StreamEncodeActor.Props(faults, timeline), settings), id);
                    break;
            }
        }
        return endpoints;
    }
}
