using SelfForcing.Actors.Messages;

namespace SelfForcing.Actors.Stages;

/// <summary>Supervisor → worker: run this job; the attempt number lets the supervisor ignore late answers.</summary>
/// <param name="ReplyTo">Who gets the job's answer (a worker that hands work on, like the decoder, passes it along).</param>
public sealed record WorkOrder(IStageJob Job, int Attempt, Akka.Actor.IActorRef ReplyTo) : Akka.Actor.INoSerializationVerificationNeeded;

/// <summary>Worker → supervisor: the job's result.</summary>
public sealed record WorkDone(int Attempt, IStageResult Result) : Akka.Actor.INoSerializationVerificationNeeded;

/// <summary>Supervisor timer: send the current job again after a backoff.</summary>
public sealed record ResendCurrent(int Attempt) : Akka.Actor.INoSerializationVerificationNeeded;

/// <summary>Thrown inside a worker to abandon the current job without answering (it is being killed or stopped).</summary>
public sealed class AbandonJobException() : Exception("job abandoned: the worker is being stopped");
