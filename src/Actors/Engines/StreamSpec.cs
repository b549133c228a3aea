using SelfForcing.Actors.Video;

namespace SelfForcing.Actors.Engines;

/// <summary>Geometry and identity of one stream as the engines need it.</summary>
/// <param name="Chunks">Number of chunks to generate; null = unbounded (requires rolling attention).</param>
public sealed record StreamSpec(string StreamId, string Prompt, long Seed, int LatentHeight, int LatentWidth, int? Chunks, double Fps, string Decoder,
    StreamFormat Format = StreamFormat.Rgb24);
