using System.Threading.Channels;
using Akka.Actor;
using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Faults;
using SelfForcing.Actors.Messages;
using SelfForcing.Actors.Metrics;
using SelfForcing.Actors.Stages;
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
/// The engine: text-encode → denoise-chunk → VAE-decode → encode-to-stream stage actors, each supervised and on
/// its own thread and device, a cache owner for the KV caches, and a coordinator that pipelines streams through.
/// </summary>
public sealed class SelfForcingPipeline
{
    public IActorRef Coordinator { get; }
    public IActorRef CacheOwner { get; }
    public PipelineSettings Settings { get; }

    private SelfForcingPipeline(IActorRef coordinator, IActorRef cacheOwner, PipelineSettings settings)
    {
        Coordinator = coordinator;
        CacheOwner = cacheOwner;
        Settings = settings;
    }

    public static SelfForcingPipeline Start(IActorRefFactory system, PipelineSettings settings, PipelineEngines engines,
        FaultInjector? faults = null, StageTimeline? timeline = null, string name = "selfforcing")
    {
        settings.Validate();
        faults ??= FaultInjector.None;
        IActorRef Stage(Stage stage, Akka.Actor.Props worker, string id) =>
            system.ActorOf(StageSupervisor.Props(stage, worker, settings), $"{name}-{id}");
        var text = Stage(Messages.Stage.TextEncode, TextEncodeActor.Props(engines.Text, faults, timeline), "text-encode");
        var denoise = Stage(Messages.Stage.Denoise, DenoiseChunkActor.Props(engines.Denoise, faults, timeline), "denoise-chunk");
        var decode = Stage(Messages.Stage.Decode, VaeDecodeActor.Props(engines.Decode, faults, timeline), "vae-decode");
        var encode = Stage(Messages.Stage.Encode, StreamEncodeActor.Props(faults, timeline), "encode-to-stream");
        var cacheOwner = system.ActorOf(CacheOwnerActor.Props(engines.Denoise, denoise).WithDispatcher(settings.WorkerDispatcher), $"{name}-cache-owner");
        var coordinator = system.ActorOf(StreamCoordinatorActor.Props(settings, text, cacheOwner, decode, encode, engines.Decode, engines.Denoise.Rolling,
            engines.Denoise.MaxChunks),
            $"{name}-coordinator");
        return new SelfForcingPipeline(coordinator, cacheOwner, settings);
    }

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

    public Task<StreamStatus> StatusAsync(string streamId) => Coordinator.Ask<StreamStatus>(new GetStreamStatus(streamId), TimeSpan.FromSeconds(30));
}
