using Akka.Actor;
using SelfForcing.Actors.Faults;
using SelfForcing.Actors.Messages;
using SelfForcing.Actors.Metrics;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Actors.Stages;

/// <summary>Turns a chunk's pixels [1, T, 3, H, W] in [−1, 1] into RGB24 frames, the wire format of a stream.</summary>
public sealed class StreamEncodeActor : StageWorker
{
    public StreamEncodeActor(FaultInjector faults, StageTimeline? timeline) : base(Stage.Encode, faults, timeline) { }

    public static Props Props(FaultInjector faults, StageTimeline? timeline) => Akka.Actor.Props.Create(() => new StreamEncodeActor(faults, timeline));

    /// <summary>The reference's conversion: 255·clamp(0.5·x + 0.5, 0, 1), then a truncating cast to uint8.</summary>
    public static byte[] ToRgb24(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        var p = pixels.dim() == 5 ? pixels[0] : pixels; // [T, 3, H, W]
        var unit = (p.to(ScalarType.Float32) * 0.5 + 0.5).clamp(0, 1) * 255.0;
        var bytes = unit.to(ScalarType.Byte).permute(0, 2, 3, 1).contiguous().cpu();
        return bytes.bytes.ToArray();
    }

    protected override IStageResult Process(IStageJob job, Action<int> checkpoint)
    {
        var j = (EncodeJob)job;
        var rgb = ToRgb24(j.Pixels);
        checkpoint(0);
        var shape = j.Pixels.shape; // [1, T, 3, H, W]
        return new ChunkEncoded(j.StreamId, j.Chunk,
            new EncodedChunk(j.StreamId, j.Chunk, j.FirstFrame, (int)shape[1], (int)shape[4], (int)shape[3], j.Spec.Fps, rgb));
    }
}
