using Akka.Actor;
using MessagePack;
using MessagePack.Formatters;
using SelfForcing.Actors.Engines;

namespace SelfForcing.Actors.Wire;

/// <summary>Actor references travel as their full path and are resolved against the receiving system.</summary>
internal sealed class ActorRefFormatter(ExtendedActorSystem system) : IMessagePackFormatter<IActorRef?>
{
    public void Serialize(ref MessagePackWriter writer, IActorRef? value, MessagePackSerializerOptions options)
    {
        if (value is null || value.IsNobody()) writer.WriteNil();
        else writer.Write(Akka.Serialization.Serialization.SerializedActorPath(value));
    }

    public IActorRef? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        if (reader.TryReadNil()) return ActorRefs.Nobody;
        string path = reader.ReadString() ?? throw new WireFormatException("an actor reference without a path");
        if (path.Length > 1024) throw new WireFormatException("an actor path longer than 1024 characters");
        return system.Provider.ResolveActorRef(path);
    }
}

/// <summary>A decoder snapshot is sent as its parts; the live state never leaves its process.</summary>
internal sealed class DecoderSnapshotFormatter : IMessagePackFormatter<DecoderSnapshot?>
{
    public void Serialize(ref MessagePackWriter writer, DecoderSnapshot? value, MessagePackSerializerOptions options)
    {
        if (value is null) writer.WriteNil();
        else options.Resolver.GetFormatterWithVerify<DecoderStateParts>().Serialize(ref writer, value.Packed(), options);
    }

    public DecoderSnapshot? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        if (reader.TryReadNil()) return null;
        var parts = options.Resolver.GetFormatterWithVerify<DecoderStateParts>().Deserialize(ref reader, options)
                    ?? throw new WireFormatException("an empty decoder snapshot");
        return new DecoderSnapshot(parts);
    }
}
