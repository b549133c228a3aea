using Akka.Actor;
using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Faults;
using SelfForcing.Actors.Metrics;
using SelfForcing.Actors.Streams;

namespace SelfForcing.Actors.Cluster;

/// <summary>
/// One node of a cluster: the stage endpoints of its roles under their well-known names, and — with the api role —
/// the coordinator whose sessions place streams on whichever nodes the membership offers.
/// </summary>
public static class SelfForcingNode
{
    /// <returns>The pipeline API on an api node (null on a node without that role).</returns>
    public static SelfForcingPipeline? Start(ActorSystem system, IReadOnlySet<NodeRole> roles, PipelineSettings settings, PipelineEngines engines,
        FaultInjector? faults = null, StageTimeline? timeline = null)
    {
        settings.Validate();
        var endpoints = StageEndpointFactory.Start(system, NodeRoles.Stages.Where(roles.Contains), settings, engines, faults ?? FaultInjector.None, timeline,
            NodeRoles.EndpointName);
        if (!roles.Contains(NodeRole.Api)) return null;
        var coordinator = system.ActorOf(StreamCoordinatorActor.Props(settings, SelfForcingPipeline.ModelFactsOf(engines),
            new StageEndpoints(new Dictionary<NodeRole, IReadOnlyList<IActorRef>>())), "selfforcing-coordinator");
        system.ActorOf(ClusterStageDirectory.Props(coordinator), "selfforcing-directory");
        return new SelfForcingPipeline(coordinator, endpoints.GetValueOrDefault(NodeRole.Denoiser) ?? ActorRefs.Nobody, settings);
    }
}
