namespace SelfForcing.Actors.Streams;

/// <summary>What the api node must know of the model to admit a stream (the model itself may live on other nodes).</summary>
/// <param name="MaxChunks">Most chunks a bounded stream may ask for (the RoPE table's limit without a rolling cache).</param>
public sealed record ModelFacts(IReadOnlyCollection<string> Decoders, bool Rolling, int MaxChunks);
