using Akka.Actor;
using SelfForcing.Actors.Messages;

namespace SelfForcing.Actors.Streams;

/// <summary>The stage endpoints now reachable, by role (from the cluster's membership, or fixed in one process).</summary>
/// <param name="Capacity">Streams each denoiser endpoint takes, as its node says (absent: the coordinator's own setting).</param>
public sealed record StageEndpoints(IReadOnlyDictionary<NodeRole, IReadOnlyList<IActorRef>> ByRole,
    IReadOnlyDictionary<IActorRef, int>? Capacity = null) : INoSerializationVerificationNeeded
{
    public IReadOnlyList<IActorRef> Of(NodeRole role) => ByRole.TryGetValue(role, out var refs) ? refs : [];
}

/// <summary>Session → coordinator: the endpoint serving this role for my stream is gone; give me another.</summary>
public sealed record ReplaceEndpoint(string StreamId, NodeRole Role, IActorRef Lost) : Akka.Actor.INoSerializationVerificationNeeded;

public sealed record EndpointAssigned(NodeRole Role, IActorRef Endpoint) : Akka.Actor.INoSerializationVerificationNeeded;

public sealed record NoEndpoint(NodeRole Role, string Reason) : Akka.Actor.INoSerializationVerificationNeeded;

/// <summary>Session → coordinator: the stream ended; its status stays answerable for a while.</summary>
public sealed record SessionEnded(StreamStatus Status) : Akka.Actor.INoSerializationVerificationNeeded;
