namespace SelfForcing.Actors.Messages;

/// <summary>Why a stage gave up on a job, as a type rather than as text to match.</summary>
public enum FailureKind
{
    /// <summary>Anything else (a bug, an injected fault): retried up to the attempt budget.</summary>
    Error,
    /// <summary>The device ran out of memory: retried (memory frees as other streams finish), then reported as such.</summary>
    OutOfMemory,
    /// <summary>The device itself failed (illegal access, driver gone): the node cannot go on with this device.</summary>
    DeviceLost,
    /// <summary>The same input would fail the same way (bad files, bad request data): not retried.</summary>
    Permanent,
}
