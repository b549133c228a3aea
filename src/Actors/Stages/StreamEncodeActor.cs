using Akka.Actor;
using SelfForcing.Actors.Video;
using SelfForcing.Actors.Faults;
using SelfForcing.Actors.Messages;
using SelfForcing.Actors.Metrics;

namespace SelfForcing.Actors.Stages;

/// <summary>
/// Turns a chunk's RGB24 frames into what its stream publishes: the frames themselves, an fMP4 fragment (plus the
/// init segment with chunk 0), or one JPEG per frame. The encoding of a chunk depends only on the job, so a
/// restarted worker re-encodes the same chunk to the same bytes.
/// </summary>
public sealed class StreamEncodeActor : StageWorker
{
    public StreamEncodeActor(FaultInjector faults, StageTimeline? timeline) : base(Stage.Encode, faults, timeline) { }

    public static Props Props(FaultInjector faults, StageTimeline? timeline) => Akka.Actor.Props.Create(() => new StreamEncodeActor(faults, timeline));

    /// <summary>The reference's conversion of pixels to bytes (see <see cref="Rgb24.From"/>).</summary>
    public static byte[] ToRgb24(TorchSharp.torch.Tensor pixels) => Rgb24.From(pixels);

    protected override IStageResult Process(WorkOrder order, Action<int> checkpoint)
    {
        var j = (EncodeJob)order.Job;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        if (j.Rgb.LongLength != (long)j.Frames * j.Height * j.Width * 3)
            throw new PermanentStageException($"chunk {j.Chunk}: {j.Rgb.Length} bytes are not {j.Frames} frames of {j.Width}x{j.Height} RGB");
        checkpoint(0);
        IReadOnlyList<StreamPayload> payloads = j.Spec.Format switch
        {
            StreamFormat.Fmp4 => FragmentedMp4ChunkEncoder.Encode(j.Rgb, j.Frames, j.Width, j.Height, j.Spec.Fps, j.Chunk, j.FirstFrame),
            StreamFormat.Jpeg => JpegChunkEncoder.Encode(j.Rgb, j.Frames, j.Width, j.Height, j.FirstFrame),
            _ => [],
        };
        checkpoint(1); // encoded, not yet answered
        var output = new EncodedChunk(j.StreamId, j.Chunk, j.FirstFrame, j.Frames, j.Width, j.Height, j.Spec.Fps,
            j.Spec.Format == StreamFormat.Rgb24 ? j.Rgb : []) { Payloads = payloads };
        return new ChunkEncoded(j.StreamId, j.Chunk, output, clock.Elapsed.TotalSeconds, j.DecodeSeconds);
    }
}
