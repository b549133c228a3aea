using Akka.Actor;
using SelfForcing.Actors.Faults;
using SelfForcing.Actors.Messages;
using SelfForcing.Actors.Metrics;
using static TorchSharp.torch;

namespace SelfForcing.Actors.Stages;

/// <summary>
/// Runs one job at a time for its stage supervisor, on its own pinned thread (TorchSharp dispose scopes are per
/// thread). It holds no stream state: everything a job needs travels in the job, so a restart loses nothing.
/// </summary>
public abstract class StageWorker : ReceiveActor
{
    private readonly FaultInjector _faults;
    private readonly StageTimeline? _timeline;

    protected Stage Stage { get; }

    protected StageWorker(Stage stage, FaultInjector faults, StageTimeline? timeline)
    {
        Stage = stage;
        _faults = faults;
        _timeline = timeline;
        Receive<WorkOrder>(Run);
    }

    private void Run(WorkOrder order)
    {
        long start = StageTimeline.Now;
        bool ok = false;
        try
        {
            Strike(order.Job, null);
            IStageResult result;
            using (var scope = NewDisposeScope())
            using (no_grad())
            {
                try { result = Process(order, step => Strike(order.Job, step)); }
                catch (Exception e) when (e is not AbandonJobException && DeviceFailures.Translate(e) is var typed && !ReferenceEquals(typed, e))
                {
                    throw typed;
                }
            }
            ok = true;
            PipelineMetrics.ChunkSeconds.WithLabels(PipelineMetrics.Label(Stage)).Observe((StageTimeline.Now - start) / (double)System.Diagnostics.Stopwatch.Frequency);
            Sender.Tell(new WorkDone(order.Attempt, result));
        }
        catch (AbandonJobException)
        {
            // Killed or stopped mid-chunk: no answer; the supervisor notices the restart or termination and resends.
        }
        finally
        {
            _timeline?.Add(new StageSpan(Stage, order.Job.StreamId, order.Job.Chunk, start, StageTimeline.Now, ok));
        }
    }

    /// <summary>Does the work (<c>order.ReplyTo</c> gets the result; a stage that hands work on may tell it more). Result tensors must outlive the dispose scope.</summary>
    protected abstract IStageResult Process(WorkOrder order, Action<int> checkpoint);

    private void Strike(IStageJob job, int? step)
    {
        string? prompt = job switch
        {
            TextEncodeJob t => t.Prompt,
            DenoiseWork d => d.Spec.Prompt,
            DecodeJob d => d.Spec.Prompt,
            EncodeJob e => e.Spec.Prompt,
            _ => null,
        };
        switch (_faults.Check(Stage, job.StreamId, job.Chunk, step, prompt))
        {
            case FaultAction.Throw:
                throw new InjectedFaultException($"injected fault in {Stage} (stream {job.StreamId}, chunk {job.Chunk}, step {step})");
            case FaultAction.OutOfMemory:
                throw new DeviceOutOfMemoryException($"CUDA out of memory (injected in {Stage}, stream {job.StreamId}, chunk {job.Chunk})");
            case FaultAction.Kill:
                Self.Tell(Kill.Instance);
                throw new AbandonJobException();
            case FaultAction.PoisonPill:
                Self.Tell(PoisonPill.Instance);
                throw new AbandonJobException();
        }
    }
}
