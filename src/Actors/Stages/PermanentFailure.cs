using SelfForcing.Model.Checkpoints;

namespace SelfForcing.Actors.Stages;

/// <summary>
/// Marks an exception that no retry can fix (the same input fails the same way every time). A stage supervisor
/// fails the job at once on such an error instead of spending its attempt budget on it.
/// </summary>
public interface IPermanentFailure;

/// <summary>An engine error that a retry cannot fix, thrown where the engine knows it (a setting, a missing model part).</summary>
public sealed class PermanentStageException(string message, Exception? inner = null) : Exception(message, inner), IPermanentFailure;

/// <summary>Sorts stage failures into those worth retrying and those that would fail again the same way.</summary>
public static class StageFailures
{
    public static Messages.FailureKind Classify(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is DeviceLostException) return Messages.FailureKind.DeviceLost;
            if (e is DeviceOutOfMemoryException or OutOfMemoryException) return Messages.FailureKind.OutOfMemory;
        }
        return IsPermanent(ex) ? Messages.FailureKind.Permanent : Messages.FailureKind.Error;
    }

    /// <summary>
    /// True for errors about files and their contents: missing files or folders, unreadable files, malformed or
    /// mis-shaped checkpoints. A restart re-reads the same bytes, so it cannot help; anything else (a transient
    /// device error, a killed worker, out of memory under load) keeps its retries. Wrapped causes count too.
    /// </summary>
    public static bool IsPermanent(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
            if (e is IPermanentFailure or FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException
                    or InvalidDataException or CheckpointFormatException)
                return true;
        return false;
    }
}
