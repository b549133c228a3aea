using System.Collections.Concurrent;
using System.Diagnostics;
using SelfForcing.Actors.Messages;

namespace SelfForcing.Actors.Metrics;

public sealed record StageSpan(Stage Stage, string StreamId, int Chunk, long StartTicks, long EndTicks, bool Succeeded);

/// <summary>Start/stop times of every stage job (Stopwatch ticks), so tests can prove overlap from the record.</summary>
public sealed class StageTimeline
{
    private readonly ConcurrentQueue<StageSpan> _spans = new();

    public static long Now => Stopwatch.GetTimestamp();

    public void Add(StageSpan span) => _spans.Enqueue(span);

    public IReadOnlyList<StageSpan> Spans => _spans.ToArray();
}
