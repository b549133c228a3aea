namespace SelfForcing.Actors.Wire;

/// <summary>
/// A message that may cross from one node to another. It carries only serialisable data (tensors as
/// <see cref="WireTensor"/>, decoder state as <see cref="DecoderSnapshot"/>, actor references): the
/// <see cref="WireSerializer"/> is bound to this interface. Messages without it hold live tensors or caches and must
/// stay inside their process.
/// </summary>
public interface IWireMessage;
