namespace SelfForcing.Model.Checkpoints;

/// <summary>
/// A checkpoint file is malformed, truncated, hostile or of an unsupported format. The message is one line naming
/// the file; <see cref="Hazard"/> says which structure was refused when the file would otherwise exhaust the reader.
/// </summary>
public sealed class CheckpointFormatException : Exception
{
    /// <summary>Set when the file was refused for a structure that would exhaust the stack, memory or time; null for plain malformation.</summary>
    public CheckpointHazard? Hazard { get; }

    public CheckpointFormatException(string message) : base(message) { }
    public CheckpointFormatException(string message, Exception inner) : base(message, inner) { }
    public CheckpointFormatException(CheckpointHazard hazard, string message) : base(message) { Hazard = hazard; }
}

/// <summary>What made a checkpoint unsafe to read: the structure a hostile (or badly broken) file uses to exhaust a reader.</summary>
public enum CheckpointHazard
{
    NestingTooDeep,
    Cycle,
    SharedDict,
    TooManyObjects,
    PickleStackTooLarge,
    MemoTooLarge,
    PickleTooLarge,
    KeyTooLong,
    TooManyEntries,
    TensorRankTooHigh,
    ElementCountOverflow,
    ViewLargerThanStorage,
    StorageLargerThanEntry,
    StoragesLargerThanFile,
    EntryLargerThanFile,
    CompressedEntry,
    TooManyZipEntries,
    HeaderTooLarge,
    OffsetsOutOfRange,
    OverlappingTensors,
}
