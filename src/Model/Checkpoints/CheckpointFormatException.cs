namespace SelfForcing.Model.Checkpoints;

/// <summary>A checkpoint file is malformed, truncated, hostile or of an unsupported format.</summary>
public sealed class CheckpointFormatException : Exception
{
    public CheckpointFormatException(string message) : base(message) { }
    public CheckpointFormatException(string message, Exception inner) : base(message, inner) { }
}
