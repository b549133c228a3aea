using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit.Xunit2;
using SelfForcing.Actors.Faults;
using SelfForcing.Actors.Messages;
using SelfForcing.Actors.Wire;

namespace SelfForcing.Actors.Tests.Wire;

/// <summary>
/// Every message a stream sends between its session and the stages goes through the wire serializer (Akka's
/// serialize-messages: what a cluster does between nodes, minus the network) — so conditioning, latents, frames and
/// decoder snapshots are exported and imported at every hop. The video must equal the in-process run's bit for bit.
/// </summary>
[Collection("wire serializer counters")]
public class SerializedPipelineTests() : TestKit(PipelineHocon.Default)
{
    [Theory]
    [InlineData("preview")]
    [InlineData("vae")]
    [InlineData("taehv")]
    public async Task Stream_through_serialized_messages_equals_the_in_process_run(string decoder)
    {
        var request = new StreamRequest("across the wire", Seed: 5, Chunks: 3, Decoder: decoder);
        var (local, _) = PipelineFixture.Start(Sys, wrap: PipelineFixture.WithRealDecoders);
        var expected = await PipelineFixture.Run(local, request);

        var config = ConfigurationFactory.ParseString("akka.actor.serialize-messages = on").WithFallback(PipelineHocon.Default);
        using var wired = ActorSystem.Create("wired", config);
        try
        {
            var faults = new FaultInjector([new FaultRule(Stage.Decode, FaultAction.Kill, Chunk: 1, Step: 0)]);
            var (pipeline, _) = PipelineFixture.Start(wired, faults, wrap: PipelineFixture.WithRealDecoders);
            long before = WireSerializer.Counters.Deserialized;
            PipelineFixture.AssertIdentical(expected, await PipelineFixture.Run(pipeline, request), $"{decoder} stream through the serializer");
            Assert.Single(faults.Injected);
            // Per chunk at least: denoise request and answer, decode job and answer, encode job and answer.
            Assert.True(WireSerializer.Counters.Deserialized - before >= 6 * 3, "the messages did not go through the wire serializer");
        }
        finally
        {
            await wired.Terminate();
        }
    }
}
