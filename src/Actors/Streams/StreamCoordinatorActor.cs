using System.Threading.Channels;
using Akka.Actor;
using Akka.Event;
using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Messages;

namespace SelfForcing.Actors.Streams;

/// <summary>
/// Admits streams and places them: each admitted stream gets a <see cref="StreamSessionActor"/> child and one endpoint
/// per stage role — the denoiser with the fewest streams (each denoiser node takes at most
/// its own node's <see cref="PipelineSettings.MaxStreams"/>), the least-used of the others. Endpoints come from the cluster's
/// membership (or are fixed in one process); a session whose node is lost asks here for another. Requests about a
/// stream go to its session; ended streams stay answerable for a while.
/// </summary>
public sealed class StreamCoordinatorActor : ReceiveActor
{
    private readonly PipelineSettings _settings;
    private readonly ModelFacts _model;
    private StageEndpoints _endpoints;
    private readonly Dictionary<string, (IActorRef Session, Dictionary<NodeRole, IActorRef> Placement)> _sessions = new();
    private readonly Dictionary<string, StreamStatus> _ended = new();
    private readonly Queue<string> _endedOrder = new();
    private const int EndedKept = 1024;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public StreamCoordinatorActor(PipelineSettings settings, ModelFacts model, StageEndpoints endpoints)
    {
        _settings = settings;
        _model = model;
        _endpoints = endpoints;
        Receive<StageEndpoints>(e => _endpoints = e);
        Receive<StartStream>(Start);
        Receive<SwitchPrompt>(m => ToSession(m.StreamId, m, () => new StreamRejected(_ended.TryGetValue(m.StreamId, out var ended)
            ? $"stream '{m.StreamId}' has ended ({ended.Phase.ToString().ToLowerInvariant()})"
            : $"unknown stream '{m.StreamId}'", "stream")));
        Receive<CancelStream>(c => ToSession(c.StreamId, c, null));
        Receive<GetStreamStatus>(g => ToSession(g.StreamId, g, () => _ended.TryGetValue(g.StreamId, out var ended)
            ? ended : new StreamStatus(g.StreamId, StreamPhase.Failed, 0, "unknown stream")));
        Receive<GetPlacements>(_ => Sender.Tell(new Placements(_sessions.ToDictionary(kv => kv.Key,
            kv => (IReadOnlyDictionary<NodeRole, string>)kv.Value.Placement.ToDictionary(p => p.Key, p => p.Value.Path.Address.ToString())))));
        Receive<ReplaceEndpoint>(Replace);
        Receive<SessionEnded>(e =>
        {
            _sessions.Remove(e.Status.StreamId);
            _ended[e.Status.StreamId] = e.Status;
            _endedOrder.Enqueue(e.Status.StreamId);
            while (_endedOrder.Count > EndedKept) _ended.Remove(_endedOrder.Dequeue());
        });
    }

    public static Props Props(PipelineSettings settings, ModelFacts model, StageEndpoints endpoints) =>
        Akka.Actor.Props.Create(() => new StreamCoordinatorActor(settings, model, endpoints));

    private void ToSession(string streamId, object message, Func<object>? otherwise)
    {
        if (_sessions.TryGetValue(streamId, out var s)) s.Session.Forward(message);
        else if (otherwise is not null) Sender.Tell(otherwise());
    }

    private void Start(StartStream m)
    {
        var r = m.Request;
        if (StreamAdmission.Check(r, _model.Decoders, _model.Rolling, _model.MaxChunks) is var (problem, field))
        {
            Sender.Tell(new StreamRejected(problem, field));
            return;
        }
        var placement = new Dictionary<NodeRole, IActorRef>();
        var denoiser = PickDenoiser(exclude: null);
        if (denoiser is null)
        {
            int nodes = _endpoints.Of(NodeRole.Denoiser).Count;
            Sender.Tell(nodes == 0
                ? new StreamRejected("no denoiser node is up", null)
                : new StreamRejected($"at capacity: the server runs its limit of {_endpoints.Of(NodeRole.Denoiser).Sum(CapacityOf)} streams", null, AtCapacity: true));
            return;
        }
        placement[NodeRole.Denoiser] = denoiser;
        foreach (var role in new[] { NodeRole.TextEncoder, NodeRole.Decoder, NodeRole.Publisher })
        {
            if (PickLeastUsed(role, exclude: null) is not { } endpoint)
            {
                Sender.Tell(new StreamRejected($"no {NodeRoles.Name(role)} node is up", null));
                return;
            }
            placement[role] = endpoint;
        }
        string id = StreamAdmission.NewStreamId();
        long seed = r.Seed == -1 ? Random.Shared.NextInt64(0, long.MaxValue) : r.Seed;
        var spec = new StreamSpec(id, r.Prompt!, seed, r.LatentHeight ?? _settings.DefaultLatentHeight, r.LatentWidth ?? _settings.DefaultLatentWidth,
            r.Chunks, r.Fps, r.Decoder, r.Format);
        var channel = Channel.CreateBounded<EncodedChunk>(new BoundedChannelOptions(_settings.MaxInFlight) { SingleWriter = true, SingleReader = false });
        var session = Context.ActorOf(StreamSessionActor.Props(spec, channel, r.Chunks ?? _model.MaxChunks, _settings, placement), $"stream-{id}");
        _sessions[id] = (session, placement);
        Sender.Tell(new StreamStarted(id, seed, r.Chunks, channel.Reader));
    }

    private IActorRef? PickDenoiser(IActorRef? exclude)
    {
        var load = Load(NodeRole.Denoiser);
        return _endpoints.Of(NodeRole.Denoiser).Where(e => !e.Equals(exclude) && load.GetValueOrDefault(e) < CapacityOf(e))
            .OrderBy(e => load.GetValueOrDefault(e)).FirstOrDefault();
    }

    private int CapacityOf(IActorRef denoiser) => _endpoints.Capacity?.GetValueOrDefault(denoiser, _settings.MaxStreams) ?? _settings.MaxStreams;

    private IActorRef? PickLeastUsed(NodeRole role, IActorRef? exclude)
    {
        var load = Load(role);
        return _endpoints.Of(role).Where(e => !e.Equals(exclude)).OrderBy(e => load.GetValueOrDefault(e)).FirstOrDefault();
    }

    private Dictionary<IActorRef, int> Load(NodeRole role) =>
        _sessions.Values.Where(s => s.Placement.ContainsKey(role)).GroupBy(s => s.Placement[role]).ToDictionary(g => g.Key, g => g.Count());

    private void Replace(ReplaceEndpoint m)
    {
        if (!_sessions.TryGetValue(m.StreamId, out var s)) return;
        // The lost endpoint may still be listed until the cluster removes its node: never hand it out again.
        _endpoints = _endpoints with
        {
            ByRole = _endpoints.ByRole.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<IActorRef>)kv.Value.Where(e => !e.Equals(m.Lost)).ToList()),
        };
        s.Placement.Remove(m.Role);
        var next = m.Role == NodeRole.Denoiser ? PickDenoiser(m.Lost) : PickLeastUsed(m.Role, m.Lost);
        if (next is null)
        {
            string why = _endpoints.Of(m.Role).Count == 0 ? "none is up" : "all are at capacity";
            _log.Warning("stream {0}: no {1} node can take over ({2})", m.StreamId, NodeRoles.Name(m.Role), why);
            Sender.Tell(new NoEndpoint(m.Role, $"the {NodeRoles.Name(m.Role)} node serving the stream was lost and no other can take it ({why})"));
            return;
        }
        s.Placement[m.Role] = next;
        _log.Info("stream {0}: {1} moves to {2}", m.StreamId, NodeRoles.Name(m.Role), next.Path.Address);
        Sender.Tell(new EndpointAssigned(m.Role, next));
    }
}

/// <summary>Asks the coordinator where each live stream runs.</summary>
public sealed record GetPlacements : Akka.Actor.INoSerializationVerificationNeeded;

/// <summary>Per live stream, the node address serving each role.</summary>
public sealed record Placements(IReadOnlyDictionary<string, IReadOnlyDictionary<NodeRole, string>> ByStream) : Akka.Actor.INoSerializationVerificationNeeded;
