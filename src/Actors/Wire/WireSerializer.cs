using System.Reflection;
using Akka.Actor;
using Akka.Serialization;
using MessagePack;
using MessagePack.Formatters;
using MessagePack.Resolvers;

namespace SelfForcing.Actors.Wire;

/// <summary>
/// Akka serializer for every <see cref="IWireMessage"/>: MessagePack of the message's public shape, the type named by a
/// short manifest (the type's name). Payloads are read as untrusted data (bounded depth, no type names inside, only
/// the registered message types can be made), and a malformed one becomes a <see cref="WireFormatException"/> naming
/// the message and the problem.
/// </summary>
public sealed class WireSerializer : SerializerWithStringManifest
{
    /// <summary>Registered in HOCON (<c>akka.actor.serializer-identifiers</c> need not list it: Akka reads this).</summary>
    public const int Id = 5107;

    private static readonly Dictionary<string, Type> ByManifest = typeof(IWireMessage).Assembly.GetTypes()
        .Where(t => typeof(IWireMessage).IsAssignableFrom(t) && t is { IsClass: true, IsAbstract: false })
        .ToDictionary(t => t.Name, StringComparer.Ordinal);

    private readonly MessagePackSerializerOptions _options;

    public WireSerializer(ExtendedActorSystem system) : base(system)
    {
        var resolver = CompositeResolver.Create(
            [new ActorRefFormatter(system), new DecoderSnapshotFormatter()],
            [ContractlessStandardResolver.Instance]);
        _options = MessagePackSerializerOptions.Standard.WithResolver(resolver)
            .WithSecurity(MessagePackSecurity.UntrustedData.WithMaximumObjectGraphDepth(32));
    }

    public override int Identifier => Id;

    /// <summary>Every message type this serializer carries (for tests and documentation).</summary>
    public static IReadOnlyCollection<Type> MessageTypes => ByManifest.Values;

    public override string Manifest(object o) => o.GetType().Name;

    private static long _serialized, _deserialized, _bytesOut;

    /// <summary>Messages this process has serialised and read back, and the bytes written (for bench and tests).</summary>
    public static (long Serialized, long Deserialized, long BytesOut) Counters =>
        (Interlocked.Read(ref _serialized), Interlocked.Read(ref _deserialized), Interlocked.Read(ref _bytesOut));

    public override byte[] ToBinary(object obj)
    {
        if (obj is not IWireMessage) throw new ArgumentException($"{obj.GetType().Name} is not a wire message");
        var bytes = MessagePackSerializer.Serialize(obj.GetType(), obj, _options);
        Interlocked.Increment(ref _serialized);
        Interlocked.Add(ref _bytesOut, bytes.Length);
        return bytes;
    }

    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (!ByManifest.TryGetValue(manifest, out var type))
            throw new WireFormatException($"unknown wire message '{(manifest.Length > 64 ? manifest[..64] + "…" : manifest)}'");
        try
        {
            var message = MessagePackSerializer.Deserialize(type, bytes, _options)
                          ?? throw new WireFormatException($"malformed {manifest}: empty payload");
            Interlocked.Increment(ref _deserialized);
            return message;
        }
        catch (MessagePackSerializationException e)
        {
            var cause = e.GetBaseException();
            throw new WireFormatException($"malformed {manifest} ({bytes.Length} bytes): {cause.Message}", e);
        }
    }
}
