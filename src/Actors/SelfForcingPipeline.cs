using System.Threading.Channels;
using Akka.Actor;
using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Faults;
using SelfForcing.Actors.Messages;
using SelfForcing.Actors.Metrics;
using SelfForcing.Actors.Streams;

namespace SelfForcing.Actors;

/// <summary>A started stream: its id and seed, its chunks as they are produced, and a way to cancel it.</summary>
public sealed class StreamHandle(string streamId, long seed, int? totalChunks, ChannelReader<EncodedChunk> output, IActorRef coordinator)
{
    public string StreamId { get; } = streamId;
    public long Seed { get; } = seed;
    public int? TotalChunks { get; } = totalChunks;
    public ChannelReader<EncodedChunk> Output { get; } = output;

    /// <summary>Chunks in order; throws <see cref="StreamFailedException"/> or <see cref="OperationCanceledException"/> when the stream ends that way.</summary>
    public IAsyncEnumerable<EncodedChunk> ReadAllAsync(CancellationToken ct = default) => Output.ReadAllAsync(ct);

    public void Cancel() => coordinator.Tell(new CancelStream(StreamId));
}

/// <summary>
/// The engine: text-encode → denoise-chunk → VAE-decode → encode-to-stream stage endpoints, each supervised and on its
/// own thread and device, a cache owner per denoiser, and a coordinator that admits streams and gives each a session.
/// <see cref="Start"/> runs every role in this process; <see cref="Cluster.SelfForcingNode"/> runs some roles of a cluster.
/// </summary>
public sealed class SelfForcingPipeline
{
    public IActorRef Coordinator { get; }
    /// <summary>This process's denoiser endpoint (its cache owner), or Nobody on a node without that role.</summary>
    public IActorRef CacheOwner { get; }
    public PipelineSettings Settings { get; }

    public SelfForcingPipeline(IActorRef coordinator, IActorRef cacheOwner, PipelineSettings settings)
    {
        Coordinator = coordinator;
        CacheOwner = cacheOwner;
        Settings = settings;
    }

    public static SelfForcingPipeline Start(IActorRefFactory system, PipelineSettings settings, PipelineEngines engines,
        FaultInjector? faults = null, StageTimeline? timeline = null, string name = "selfforcing")
    {
        settings.Validate();
        var endpoints = StageEndpointFactory.Start(system, NodeRoles.Stages, settings, engines, faults ?? FaultInjector.None, timeline,
            role => $"{name}-{NodeRoles.Name(role)}");
        var coordinator = system.ActorOf(StreamCoordinatorActor.Props(settings, ModelFactsOf(engines),
            new StageEndpoints(endpoints.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<IActorRef>)[kv.Value]))), $"{name}-coordinator");
        return new SelfForcingPipeline(coordinator, endpoints[NodeRole.Denoiser], settings);
    }

    public static ModelFacts ModelFactsOf(PipelineEngines engines) =>
        new(engines.Decode.Decoders.ToArray(), engines.Denoise.Rolling, engines.Denoise.MaxChunks);

    /// <summary>Starts a stream; throws <see cref="ArgumentException"/> with the reason when the request is rejected.</summary>
    public async Task<StreamHandle> StartAsync(StreamRequest request, TimeSpan? timeout = null)
    {
        var (handle, rejected) = await TryStartAsync(request, timeout);
        return handle ?? throw new ArgumentException(rejected!.Reason);
    }

    /// <summary>Starts a stream, or says why not (with the field at fault, and whether only capacity stood in the way).</summary>
    public async Task<(StreamHandle? Handle, StreamRejected? Rejected)> TryStartAsync(StreamRequest request, TimeSpan? timeout = null)
    {
        var reply = await Coordinator.Ask<object>(new StartStream(request), timeout ?? TimeSpan.FromSeconds(30));
        return reply switch
        {
            StreamStarted s => (new StreamHandle(s.StreamId, s.Seed, s.TotalChunks, s.Output, Coordinator), null),
            StreamRejected r => (null, r),
            _ => throw new InvalidOperationException($"unexpected reply {reply}"),
        };
    }

    /// <summary>Switches a running stream's prompt at its next chunk boundary: the first chunk under the new prompt, or why not.</summary>
    public async Task<(int? FromChunk, StreamRejected? Rejected)> TrySwitchPromptAsync(string streamId, string prompt, TimeSpan? timeout = null)
    {
        var reply = await Coordinator.Ask<object>(new SwitchPrompt(streamId, prompt), timeout ?? TimeSpan.FromSeconds(30));
        return reply switch
        {
            PromptSwitched p => (p.FromChunk, null),
            StreamRejected r => (null, r),
            _ => throw new InvalidOperationException($"unexpected reply {reply}"),
        };
    }

    public void Cancel(string streamId) => Coordinator.Tell(new CancelStream(streamId));

    public Task<CacheState> CacheStateAsync() => CacheOwner.Ask<CacheState>(new GetCacheState(), TimeSpan.FromSeconds(30));

    /// <summary>Where each live stream runs: per role, the address of the node serving it.</summary>
    public Task<Placements> PlacementsAsync() => Coordinator.Ask<Placements>(new GetPlacements(), TimeSpan.FromSeconds(30));

    public Task<StreamStatus> StatusAsync(string streamId) => Coordinator.Ask<StreamStatus>(new GetStreamStatus(streamId), TimeSpan.FromSeconds(30));
}
