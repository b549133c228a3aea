using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Stages;
using SelfForcing.Actors.Wire;

namespace SelfForcing.Actors.Tests;

/// <summary>
/// A stream's release (cancelled or failed) and the stage's stop arrive on other threads than the decode worker's:
/// the state a worker decodes from must outlive both until the decode is done, and be freed then.
/// </summary>
public class DecoderStatesTests
{
    private sealed class CountedState(int chunks) : IDecoderState
    {
        public int ChunksDecoded { get; } = chunks;
        public int Disposals { get; private set; }
        public DecoderStateParts Export() => new("preview", ChunksDecoded, [], [], []);
        public void Dispose() => Disposals++;
    }

    private static DecoderStates NewStates() => new(new LatentPreviewDecodeEngine(TorchSharp.torch.CPU));

    [Fact]
    public void Releasing_a_stream_mid_decode_frees_its_state_when_the_decode_ends()
    {
        using var states = NewStates();
        var kept = new CountedState(1);
        states.Keep("s", kept);
        var lease = states.Lease("s", new DecoderSnapshot(kept));
        states.Release("s");
        Assert.Equal(0, kept.Disposals);
        lease.Dispose();
        Assert.Equal(1, kept.Disposals);
        lease.Dispose();
        Assert.Equal(1, kept.Disposals);
    }

    [Fact]
    public void Stopping_the_stage_mid_decode_frees_the_leased_state_once_when_the_decode_ends()
    {
        var states = NewStates();
        var leased = new CountedState(2);
        var idle = new CountedState(5);
        states.Keep("a", leased);
        states.Keep("b", idle);
        using (states.Lease("a", new DecoderSnapshot(leased.Export())))
        {
            states.Dispose();
            Assert.Equal(1, idle.Disposals);
            Assert.Equal(0, leased.Disposals);
        }
        Assert.Equal(1, leased.Disposals);
    }

    [Fact]
    public void The_next_state_replaces_a_leased_one_without_freeing_it_under_the_decode()
    {
        using var states = NewStates();
        var first = new CountedState(1);
        states.Keep("s", first);
        var lease = states.Lease("s", new DecoderSnapshot(first));
        var second = new CountedState(2);
        states.Keep("s", second);
        Assert.Equal(0, first.Disposals);
        lease.Dispose();
        Assert.Equal(1, first.Disposals);
        Assert.Equal(0, second.Disposals);
        states.Release("s");
        Assert.Equal(1, second.Disposals);
    }

    [Fact]
    public void A_job_for_a_released_stream_is_refused_instead_of_decoding_from_a_freed_state()
    {
        using var states = NewStates();
        var kept = new CountedState(3);
        states.Keep("s", kept);
        states.Release("s");
        Assert.Equal(1, kept.Disposals);
        var e = Assert.Throws<PermanentStageException>(() => states.Lease("s", new DecoderSnapshot(kept)));
        Assert.Contains("'s'", e.Message);
        Assert.Contains("already freed", e.Message);
    }
}
