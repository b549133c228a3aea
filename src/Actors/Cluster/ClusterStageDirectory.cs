using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using SelfForcing.Actors.Streams;

namespace SelfForcing.Actors.Cluster;

/// <summary>
/// Follows the cluster's membership and tells the coordinator which stage endpoints are reachable: for every member
/// that is up and reachable, the endpoints of its roles (<c>/user/selfforcing-&lt;role&gt;</c>, found by Identify,
/// retried while the node is still starting them). An unreachable or removed member's endpoints are dropped at once,
/// so new streams are never placed there; sessions that used them learn of the loss by death watch once the
/// split-brain resolver downs the node.
/// </summary>
public sealed class ClusterStageDirectory : ReceiveActor, IWithTimers
{
    private sealed record Retry(Address Address, NodeRole Role, int Attempt) : INoSerializationVerificationNeeded;
    private readonly Dictionary<string, (Address Address, NodeRole Role, int Attempt)> _asked = new();
    private long _asks;

    private readonly IActorRef _coordinator;
    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
    private readonly Dictionary<(Address, NodeRole), IActorRef> _found = new();
    private readonly Dictionary<IActorRef, int> _capacity = new();
    private readonly HashSet<Address> _reachable = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public ITimerScheduler Timers { get; set; } = null!;

    public ClusterStageDirectory(IActorRef coordinator)
    {
        _coordinator = coordinator;
        Receive<ClusterEvent.CurrentClusterState>(s =>
        {
            foreach (var m in s.Members.Where(m => m.Status == MemberStatus.Up && !s.Unreachable.Contains(m))) Up(m);
        });
        Receive<ClusterEvent.MemberUp>(m => Up(m.Member));
        Receive<ClusterEvent.ReachableMember>(m => { if (m.Member.Status == MemberStatus.Up) Up(m.Member); });
        Receive<ClusterEvent.UnreachableMember>(m => Gone(m.Member.Address, "unreachable"));
        Receive<ClusterEvent.MemberRemoved>(m => Gone(m.Member.Address, "removed"));
        Receive<ClusterEvent.MemberExited>(m => Gone(m.Member.Address, "leaving"));
        Receive<ActorIdentity>(OnIdentity);
        Receive<Messages.DenoiserCapacity>(c =>
        {
            if (!_found.ContainsValue(Sender)) return;
            _capacity[Sender] = c.MaxStreams;
            Publish();
        });
        Receive<Retry>(r =>
        {
            if (_reachable.Contains(r.Address) && !_found.ContainsKey((r.Address, r.Role))) Identify(r.Address, r.Role, r.Attempt);
        });
    }

    public static Props Props(IActorRef coordinator) => Akka.Actor.Props.Create(() => new ClusterStageDirectory(coordinator));

    protected override void PreStart() =>
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot,
            typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent));

    protected override void PostStop() => _cluster.Unsubscribe(Self);

    private void Up(Member member)
    {
        _reachable.Add(member.Address);
        foreach (var role in NodeRoles.Stages)
            if (member.HasRole(NodeRoles.Name(role)) && !_found.ContainsKey((member.Address, role))) Identify(member.Address, role, 1);
    }

    private void Identify(Address address, NodeRole role, int attempt)
    {
        // The correlation id crosses the wire with Identify: a plain string, kept here with what it stands for.
        string id = $"identify-{++_asks}";
        _asked[id] = (address, role, attempt);
        Context.ActorSelection(new RootActorPath(address) / "user" / NodeRoles.EndpointName(role)).Tell(new Identify(id));
    }

    private void OnIdentity(ActorIdentity id)
    {
        if (id.MessageId is not string key || !_asked.Remove(key, out var asked)) return;
        var (address, role, attempt) = asked;
        if (!_reachable.Contains(address)) return;
        if (id.Subject is null)
        {
            // The member is up but has not started this endpoint yet (engines still loading): ask again.
            if (attempt < 600) Timers.StartSingleTimer((address, role), new Retry(address, role, attempt + 1), TimeSpan.FromMilliseconds(500));
            else _log.Warning("node {0} has role {1} but no endpoint {2}", address, NodeRoles.Name(role), NodeRoles.EndpointName(role));
            return;
        }
        _found[(address, role)] = id.Subject;
        _log.Info("{0} endpoint up on {1}", NodeRoles.Name(role), address);
        // A denoiser node says how many streams it takes; until it has, the coordinator assumes its own setting.
        if (role == NodeRole.Denoiser) id.Subject.Tell(new Messages.GetDenoiserCapacity());
        Publish();
    }

    private void Gone(Address address, string why)
    {
        _reachable.Remove(address);
        int before = _found.Count;
        foreach (var key in _found.Keys.Where(k => k.Item1.Equals(address)).ToList())
        {
            _capacity.Remove(_found[key]);
            _found.Remove(key);
        }
        if (_found.Count == before) return;
        _log.Warning("node {0} is {1}: its endpoints take no new work", address, why);
        Publish();
    }

    private void Publish() =>
        _coordinator.Tell(new StageEndpoints(NodeRoles.Stages.ToDictionary(r => r,
            r => (IReadOnlyList<IActorRef>)_found.Where(kv => kv.Key.Item2 == r).Select(kv => kv.Value).ToList()), new Dictionary<IActorRef, int>(_capacity)));
}
