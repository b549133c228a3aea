namespace SelfForcing.Actors.Wire;

/// <summary>A payload from another node that is not a well-formed wire message; the message is dropped, the node keeps serving.</summary>
public sealed class WireFormatException(string message, Exception? inner = null) : Exception(message, inner);
