using Akka.Actor;
using Akka.Event;
using SelfForcing.Actors.Messages;
using SelfForcing.Actors.Metrics;

namespace SelfForcing.Actors.Stages;

/// <summary>
/// Owns one stage: a FIFO of jobs (streams take turns, since each stream has at most one job per stage at a time)
/// and one restartable worker. When the worker throws, is killed or is stopped mid-job, the supervisor restarts or
/// recreates it and, after a backoff, re-sends the job it was working on. A job that fails
/// <see cref="PipelineSettings.MaxAttempts"/> times, or once with an error no retry can fix
/// (<see cref="StageFailures.IsPermanent"/>), is answered with <see cref="StageJobFailed"/>: only its stream fails.
/// </summary>
public sealed class StageSupervisor : ReceiveActor, IWithTimers
{
    private sealed class Current(IStageJob job, IActorRef replyTo)
    {
        public IStageJob Job { get; } = job;
        public IActorRef ReplyTo { get; } = replyTo;
        public int Attempt { get; set; } = 1;
        public int Failures { get; set; }
    }

    private readonly Stage _stage;
    private readonly Props _workerProps;
    private readonly PipelineSettings _settings;
    private readonly Queue<(IStageJob Job, IActorRef ReplyTo)> _queue = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private IActorRef _worker = ActorRefs.Nobody;
    private int _generation;
    private Current? _current;

    public ITimerScheduler Timers { get; set; } = null!;

    public StageSupervisor(Stage stage, Props workerProps, PipelineSettings settings)
    {
        _stage = stage;
        _workerProps = workerProps;
        _settings = settings;
        Receive<IStageJob>(job =>
        {
            _queue.Enqueue((job, job is IRoutedJob routed ? routed.ReplyTo : Sender));
            Gauge();
            TryStart();
        });
        Receive<WorkDone>(OnDone);
        Receive<ResendCurrent>(r =>
        {
            if (_current is not null && _current.Attempt == r.Attempt) _worker.Tell(new WorkOrder(_current.Job, _current.Attempt, _current.ReplyTo));
        });
        Receive<Terminated>(t =>
        {
            if (!t.ActorRef.Equals(_worker)) return;
            _worker = StartWorker();
            OnFailure(new ActorKilledException("stage worker stopped"), restarted: true);
        });
    }

    public static Props Props(Stage stage, Props workerProps, PipelineSettings settings) =>
        Akka.Actor.Props.Create(() => new StageSupervisor(stage, workerProps, settings));

    protected override void PreStart() => _worker = StartWorker();

    private IActorRef StartWorker()
    {
        var worker = Context.ActorOf(_workerProps.WithDispatcher(_settings.WorkerDispatcher), $"worker-{_generation++}");
        Context.Watch(worker);
        return worker;
    }

    // Akka's own failure log is off: OnFailure logs each failure once, with the stack trace only where a retry follows.
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(ex =>
    {
        OnFailure(ex, restarted: true);
        return Directive.Restart;
    }, loggingEnabled: false);

    private void TryStart()
    {
        if (_current is not null || _queue.Count == 0) return;
        var (job, replyTo) = _queue.Dequeue();
        Gauge();
        _current = new Current(job, replyTo);
        _worker.Tell(new WorkOrder(job, 1, replyTo));
    }

    private void OnDone(WorkDone done)
    {
        if (_current is null || done.Attempt != _current.Attempt || done.Result.Chunk != _current.Job.Chunk || done.Result.StreamId != _current.Job.StreamId)
        {
            _log.Warning("{0}: ignoring a late result for stream {1} chunk {2}", _stage, done.Result.StreamId, done.Result.Chunk);
            ResultDisposal.Dispose(done.Result);
            return;
        }
        _current.ReplyTo.Tell(done.Result);
        _current = null;
        TryStart();
    }

    private void OnFailure(Exception ex, bool restarted)
    {
        if (restarted) PipelineMetrics.Restarts.WithLabels(PipelineMetrics.Label(_stage)).Inc();
        if (_current is null) return;
        var current = _current;
        current.Failures++;
        var kind = StageFailures.Classify(ex);
        bool permanent = kind is FailureKind.Permanent or FailureKind.DeviceLost;
        string reason = kind switch
        {
            FailureKind.OutOfMemory => $"device out of memory in {_stage}: {ex.Message}",
            FailureKind.DeviceLost => $"device lost in {_stage}: {ex.Message}",
            FailureKind.Permanent => ex.Message,
            _ => $"{ex.GetType().Name}: {ex.Message}",
        };
        if (permanent)
            _log.Error("{0} failed on stream {1} chunk {2}, not retried: {3}", _stage, current.Job.StreamId, current.Job.Chunk, reason);
        else
            _log.Warning(ex, "{0} failed on stream {1} chunk {2} (attempt {3}/{4}): {5}", _stage, current.Job.StreamId, current.Job.Chunk,
                current.Failures, _settings.MaxAttempts, reason);
        if (permanent || current.Failures >= _settings.MaxAttempts)
        {
            current.ReplyTo.Tell(new StageJobFailed(_stage, current.Job.StreamId, current.Job.Chunk, current.Failures, reason, kind));
            _current = null;
            TryStart();
            return;
        }
        current.Attempt++;
        var backoff = TimeSpan.FromTicks(Math.Min(_settings.BackoffMax.Ticks, _settings.BackoffMin.Ticks << (current.Failures - 1)));
        Timers.StartSingleTimer("resend", new ResendCurrent(current.Attempt), backoff);
    }

    private void Gauge() => PipelineMetrics.QueueDepth.WithLabels(PipelineMetrics.Label(_stage)).Set(_queue.Count);
}
