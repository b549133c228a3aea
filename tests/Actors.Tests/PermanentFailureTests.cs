using Akka.TestKit.Xunit2;
using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Messages;
using SelfForcing.Actors.Stages;
using SelfForcing.Model.Checkpoints;
using static TorchSharp.torch;

namespace SelfForcing.Actors.Tests;

/// <summary>Errors no retry can fix (missing or malformed weight files, shape mismatches) fail the stream on the first attempt.</summary>
[Trait("Category", "FaultInjection")]
public class PermanentFailureTests() : TestKit(PipelineHocon.Default)
{
    private static readonly StreamRequest Request = new("a lighthouse at dusk", Seed: 7, Chunks: 2);

    /// <summary>A text engine that fails every call with the given error, counting the calls.</summary>
    private sealed class FailingTextEngine(ITextEncodeEngine inner, Func<Exception> error) : ITextEncodeEngine
    {
        private int _calls;
        public int Calls => Volatile.Read(ref _calls);
        public Device Device => inner.Device;

        public Tensor Encode(string prompt)
        {
            Interlocked.Increment(ref _calls);
            throw error();
        }

        public void Dispose() => inner.Dispose();
    }

    public static TheoryData<string, int> Errors() => new()
    {
        { "missing-file", 1 },
        { "format", 1 },
        { "shape-mismatch", 1 },
        { "typed", 1 },
        { "wrapped-missing-file", 1 },
        { "transient", PipelineFixture.Settings.MaxAttempts },
    };

    private static Exception Make(string kind) => kind switch
    {
        "missing-file" => new FileNotFoundException("checkpoint not found: /weights/models_t5_umt5-xxl-enc-bf16.pth"),
        "format" => new InvalidDataException("/weights/models_t5_umt5-xxl-enc-bf16.pth: not a PyTorch zip checkpoint"),
        "shape-mismatch" => new CheckpointFormatException("Cannot load the generator: wrong shape for 1 key(s): head.head.weight"),
        "typed" => new PermanentStageException("the text encoder has no weight source"),
        "wrapped-missing-file" => new InvalidOperationException("loading failed", new FileNotFoundException("checkpoint not found: /weights/t5.pth")),
        "transient" => new InvalidOperationException("a transient device error"),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public async Task An_error_no_retry_can_fix_is_tried_exactly_once(string kind, int expectedAttempts)
    {
        FailingTextEngine? failing = null;
        var (p, _) = PipelineFixture.Start(Sys, wrap: e => e with { Text = failing = new FailingTextEngine(e.Text, () => Make(kind)) });
        var ex = await Assert.ThrowsAsync<StreamFailedException>(() => PipelineFixture.Run(p, Request));
        Assert.Equal(expectedAttempts, failing!.Calls);
        Assert.Contains($"failed on the prompt after {expectedAttempts} attempt(s)", ex.Message);
        Assert.Contains(Make(kind).Message, ex.Message);
        // The pipeline stays usable: the next stream fails the same way, again on one attempt for permanent errors.
        await Assert.ThrowsAsync<StreamFailedException>(() => PipelineFixture.Run(p, Request with { Seed = 8 }));
        Assert.Equal(2 * expectedAttempts, failing.Calls);
    }

    [Fact]
    public void Permanent_errors_are_recognised_through_wrapping_and_others_are_not()
    {
        Assert.True(StageFailures.IsPermanent(new DirectoryNotFoundException("x")));
        Assert.True(StageFailures.IsPermanent(new AggregateException(new InvalidDataException("x"))));
        Assert.False(StageFailures.IsPermanent(new OutOfMemoryException()));
        Assert.False(StageFailures.IsPermanent(new IOException("device busy")));
    }
}
