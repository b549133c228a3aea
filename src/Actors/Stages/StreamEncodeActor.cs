using Akka.Actor;
using SelfForcing.Actors.Video;
using SelfForcing.Actors.Faults;
using SelfForcing.Actors.Messages;
using SelfForcing.Actors.Metrics;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Actors.Stages;

/// <summary>
/// Turns a chunk's pixels [1, T, 3, H, W] in [−1, 1] into what its stream publishes: RGB24 frames, an fMP4
/// fragment (plus the init segment with chunk 0), or one JPEG per frame. The encoding of a chunk depends only on
/// the job, so a restarted worker re-encodes the same chunk to the same bytes.
/// </summary>
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
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var rgb = ToRgb24(j.Pixels);
        checkpoint(0);
        var shape = j.Pixels.shape; // [1, T, 3, H, W]
        int frames = (int)shape[1], width = (int)shape[4], height = (int)shape[3];
        IReadOnlyList<StreamPayload> payloads = j.Spec.Format switch
        {
            StreamFormat.Fmp4 => FragmentedMp4ChunkEncoder.Encode(rgb, frames, width, height, j.Spec.Fps, j.Chunk, j.FirstFrame),
            StreamFormat.Jpeg => JpegChunkEncoder.Encode(rgb, frames, width, height, j.FirstFrame),
            _ => [],
        };
        checkpoint(1); // encoded, not yet answered
        var output = new EncodedChunk(j.StreamId, j.Chunk, j.FirstFrame, frames, width, height, j.Spec.Fps,
            j.Spec.Format == StreamFormat.Rgb24 ? rgb : []) { Payloads = payloads };
        return new ChunkEncoded(j.StreamId, j.Chunk, output, clock.Elapsed.TotalSeconds);
    }
}
