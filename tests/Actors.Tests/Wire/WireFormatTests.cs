using Akka.Actor;
using Akka.TestKit.Xunit2;
using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Messages;
using SelfForcing.Actors.Video;
using SelfForcing.Actors.Wire;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Actors.Tests.Wire;

/// <summary>The wire format of messages between nodes: every wire message round-trips, tensors keep their bits, bad payloads are refused by name.</summary>
[Collection("wire serializer counters")]
public class WireFormatTests() : TestKit(PipelineHocon.Default)
{
    private WireSerializer Serializer => new((ExtendedActorSystem)Sys);

    private static WireTensor Tensor(ScalarType type, params long[] shape)
    {
        using var g = new Generator(7);
        using var t = randn(shape, generator: g).to(type);
        return WireTensor.From(t);
    }

    private static readonly StreamSpec Spec = new("s0123456789ab", "a red circle", 42, 8, 8, 3, 16, "preview", StreamFormat.Fmp4);

    /// <summary>One sample of every wire message type; a type added without a sample fails <see cref="Every_wire_message_round_trips"/>.</summary>
    private Dictionary<Type, object> Samples()
    {
        var latents = Tensor(ScalarType.BFloat16, 1, 3, 16, 4, 4);
        var parts = new DecoderStateParts("taehv", 2, [1, 2], [1, 0], [Tensor(ScalarType.Float32, 1, 4, 2, 2), null]);
        var chunk = new EncodedChunk("s0123456789ab", 1, 9, 12, 64, 64, 16, [1, 2, 3])
        {
            Payloads = [new StreamPayload(StreamPayload.Segment, 1, 12, [9, 8, 7])], Timings = new ChunkTimings(1.5, 0.25, 0.125), Prompt = "a red circle",
        };
        object[] all =
        [
            new TextEncodeJob("s0123456789ab", "a red circle", 2),
            new TextEncoded("s0123456789ab", Tensor(ScalarType.Float32, 1, 5, 8), 2),
            new OpenStream(Spec, [new ChunkConditioning(0, Tensor(ScalarType.Float32, 1, 5, 8)), new ChunkConditioning(3, Tensor(ScalarType.BFloat16, 1, 5, 8))], 4),
            new StreamOpened("s0123456789ab", 4),
            new OpenStreamFailed("s0123456789ab", "device out of memory", FailureKind.OutOfMemory),
            new DenoiseChunk("s0123456789ab", 5),
            new ChunkDenoised("s0123456789ab", 5, latents, 2.5),
            new SwitchConditioning("s0123456789ab", 6, Tensor(ScalarType.Float32, 1, 5, 8)),
            new CloseStream("s0123456789ab"),
            new DecodeJob(Spec, 5, 57, latents, new DecoderSnapshot(parts), TestActor),
            new ChunkDecoded("s0123456789ab", 5, new DecoderSnapshot(parts), 12, 0.5),
            new EncodeJob(Spec, 5, 57, 1, 2, 2, new byte[12], 0.5, TestActor),
            new ChunkEncoded("s0123456789ab", 1, chunk, 0.2, 0.3),
            new StageJobFailed(Stage.Decode, "s0123456789ab", 5, 3, "boom", FailureKind.DeviceLost),
            new ReleaseDecoder("s0123456789ab"),
            new GetDenoiserCapacity(),
            new DenoiserCapacity(4),
        ];
        return all.ToDictionary(m => m.GetType());
    }

    [Fact]
    public void Every_wire_message_round_trips()
    {
        var samples = Samples();
        Assert.Empty(WireSerializer.MessageTypes.Where(t => !samples.ContainsKey(t)).Select(t => t.Name));
        var s = Serializer;
        foreach (var (type, message) in samples)
        {
            byte[] bytes = s.ToBinary(message);
            var back = s.FromBinary(bytes, s.Manifest(message));
            Assert.IsType(type, back);
            // Records with arrays do not compare by value; the re-serialised bytes must be the same.
            Assert.True(bytes.AsSpan().SequenceEqual(s.ToBinary(back)), $"{type.Name} changed on a round trip");
        }
        var decoded = (ChunkEncoded)s.FromBinary(s.ToBinary(samples[typeof(ChunkEncoded)]), nameof(ChunkEncoded));
        Assert.Equal("a red circle", decoded.Output.Prompt);
        Assert.Equal([9, 8, 7], decoded.Output.Payloads.Single().Data);
        Assert.Equal(0.125, decoded.Output.Timings.Encode);
        var job = (DecodeJob)s.FromBinary(s.ToBinary(samples[typeof(DecodeJob)]), nameof(DecodeJob));
        Assert.Equal(TestActor, job.Encoder);
        Assert.Equal(Spec, job.Spec);
        Assert.Equal(2, job.State.ChunksDecoded);
    }

    [Fact]
    public void The_actor_system_sends_wire_messages_with_the_wire_serializer()
    {
        foreach (var message in Samples().Values)
            Assert.IsType<WireSerializer>(Sys.Serialization.FindSerializerFor(message));
    }

    [Theory]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float16)]
    public void Tensors_keep_dtype_shape_and_bits(ScalarType type)
    {
        using var g = new Generator(3);
        using var original = (randn([1, 3, 16, 6, 10], generator: g) * 3).to(type);
        var s = Serializer;
        var message = new ChunkDenoised("s1", 0, WireTensor.From(original));
        var back = (ChunkDenoised)s.FromBinary(s.ToBinary(message), nameof(ChunkDenoised));
        using var restored = back.Latents.ToTensor();
        Assert.Equal(type, restored.dtype);
        Assert.Equal(original.shape, restored.shape);
        Assert.True(original.bytes.SequenceEqual(restored.bytes), "the tensor's bits changed on the wire");
        if (type == ScalarType.BFloat16) Assert.Equal(2L * 3 * 16 * 6 * 10, back.Latents.Bytes); // kept as bf16, not widened
    }

    [Fact]
    public void Truncated_payload_is_refused_with_the_message_name()
    {
        var s = Serializer;
        byte[] bytes = s.ToBinary(Samples()[typeof(ChunkDenoised)]);
        var e = Assert.Throws<WireFormatException>(() => s.FromBinary(bytes[..(bytes.Length / 2)], nameof(ChunkDenoised)));
        Assert.Contains("malformed ChunkDenoised", e.Message);
    }

    [Fact]
    public void Unknown_manifest_is_refused()
    {
        var e = Assert.Throws<WireFormatException>(() => Serializer.FromBinary([0x90], "System.Diagnostics.Process"));
        Assert.Contains("unknown wire message", e.Message);
    }

    [Fact]
    public void Tensor_whose_bytes_do_not_match_its_shape_is_refused()
    {
        var s = Serializer;
        // A payload claiming a [1, 1000, 1000] float32 tensor with 8 bytes of data: refused, nothing allocated.
        var honest = new ChunkDenoised("s1", 0, new WireTensor("float32", [1, 2], new byte[8]));
        byte[] bytes = s.ToBinary(honest);
        int at = IndexOf(bytes, [0x92, 0x01, 0x02]); // the shape array [1, 2]
        Assert.True(at >= 0);
        var forged = bytes[..at].Concat(new byte[] { 0x93, 0x01, 0xcd, 0x03, 0xe8, 0xcd, 0x03, 0xe8 }).Concat(bytes[(at + 3)..]).ToArray();
        var e = Assert.Throws<WireFormatException>(() => s.FromBinary(forged, nameof(ChunkDenoised)));
        Assert.Contains("needs 4000000 bytes", e.Message);
    }

    [Theory]
    [InlineData("float64")]
    [InlineData("")]
    public void Unknown_dtype_is_refused(string dtype)
    {
        var e = Assert.Throws<ArgumentException>(() => new WireTensor(dtype, [2], new byte[16]));
        Assert.Contains("dtype", e.Message);
    }

    [Fact]
    public void Deeply_nested_payload_is_refused()
    {
        // 100 nested one-element arrays: far past the depth any wire message has.
        var bomb = Enumerable.Repeat((byte)0x91, 100).Append((byte)0x01).ToArray();
        Assert.Throws<WireFormatException>(() => Serializer.FromBinary(bomb, nameof(OpenStream)));
    }

    private static int IndexOf(byte[] haystack, byte[] needle)
    {
        for (int i = 0; i + needle.Length <= haystack.Length; i++)
            if (haystack.AsSpan(i, needle.Length).SequenceEqual(needle)) return i;
        return -1;
    }
}
