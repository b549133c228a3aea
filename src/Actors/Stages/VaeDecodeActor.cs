using Akka.Actor;
using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Faults;
using SelfForcing.Actors.Messages;
using SelfForcing.Actors.Metrics;
using SelfForcing.Actors.Video;
using SelfForcing.Actors.Wire;

namespace SelfForcing.Actors.Stages;

/// <summary>
/// Decodes one chunk from the decoder state the job carries, hands the frames (RGB24) straight to the job's encoder
/// and answers the session with the chunk's metadata and the next state. A retry after a failure decodes the same
/// chunk from the same state; an encoder that receives a chunk twice makes the same bytes, and the session keeps one.
/// </summary>
public sealed class VaeDecodeActor : StageWorker
{
    private readonly IDecodeEngine _engine;
    private readonly DecoderStates _states;

    public VaeDecodeActor(IDecodeEngine engine, DecoderStates states, FaultInjector faults, StageTimeline? timeline) : base(Stage.Decode, faults, timeline)
    {
        _engine = engine;
        _states = states;
    }

    public static Props Props(IDecodeEngine engine, DecoderStates states, FaultInjector faults, StageTimeline? timeline) =>
        Akka.Actor.Props.Create(() => new VaeDecodeActor(engine, states, faults, timeline));

    protected override IStageResult Process(WorkOrder order, Action<int> checkpoint)
    {
        var j = (DecodeJob)order.Job;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        IDecoderState next;
        byte[] rgb;
        long[] shape;
        using (var lease = _states.Lease(j.StreamId, j.State))
        using (var latents = j.Latents.ToTensor())
        {
            var (pixels, n) = _engine.Decode(j.Spec.Decoder, lease.State, latents);
            next = n;
            using (pixels)
            {
                shape = pixels.shape; // [1, T, 3, H, W]
                rgb = Rgb24.From(pixels);
            }
        }
        try
        {
            checkpoint(0); // decoded, state advanced, not yet answered
        }
        catch
        {
            next.Dispose();
            throw;
        }
        _states.Keep(j.StreamId, next);
        double seconds = clock.Elapsed.TotalSeconds;
        int frames = (int)shape[1];
        j.Encoder.Tell(new EncodeJob(j.Spec, j.Chunk, j.FirstFrame, frames, (int)shape[3], (int)shape[4], rgb, seconds, order.ReplyTo));
        return new ChunkDecoded(j.StreamId, j.Chunk, new DecoderSnapshot(next), frames, seconds);
    }
}
