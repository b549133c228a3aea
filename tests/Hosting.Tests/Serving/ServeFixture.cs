using System.Text;
using System.Text.Json.Nodes;
using Akka.Configuration;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using SelfForcing.Actors;
using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Faults;
using SelfForcing.Hosting.Serving;

namespace SelfForcing.Hosting.Tests.Serving;

/// <summary>A real nats-server, a <see cref="ServeHost"/> on the tiny model (8×8 latents), and a client connection.</summary>
public sealed class ServeFixture : IAsyncDisposable
{
    private static readonly NatsRawSerializer<byte[]> Raw = NatsRawSerializer<byte[]>.Default;

    public NatsServer Server { get; }
    public ServeHost Host { get; }
    public NatsConnection Client { get; }
    public ApiSubjects Subjects => Host.Api.Subjects;
    public StringWriter Log { get; } = new();

    private ServeFixture(NatsServer server, ServeHost host, NatsConnection client)
    {
        Server = server; Host = host; Client = client;
    }

    public static async Task<ServeFixture> StartAsync(string? hocon = null, FaultInjector? faults = null, NatsServer? server = null)
    {
        server ??= await NatsServer.StartAsync();
        var config = (hocon is null ? Config.Empty : ConfigurationFactory.ParseString(hocon))
            .WithFallback(ConfigurationFactory.ParseString("selfforcing.pipeline.backoff-min = 5ms"))
            .WithFallback(PipelineHocon.Default);
        var settings = ServeSettings.FromConfig(config) with { NatsUrl = server.Url, JetStreamFileStorage = true };
        var log = new StringWriter();
        var host = await ServeHost.StartAsync(config, settings, () => PipelineEngines.Tiny(PipelineSettings.FromConfig(config), localAttnSize: -1, sinkSize: 0), "preview", 8, 8, log, faults);
        var client = new NatsConnection(new NatsOpts { Url = server.Url, MaxReconnectRetry = -1, ReconnectWaitMin = TimeSpan.FromMilliseconds(100) });
        await client.ConnectAsync();
        return new ServeFixture(server, host, client);
    }

    /// <summary>Sends a JSON request and parses the JSON reply.</summary>
    public async Task<JsonObject> RequestAsync(string subject, string json)
    {
        var reply = await Client.RequestAsync<byte[], byte[]>(subject, Encoding.UTF8.GetBytes(json), requestSerializer: Raw, replySerializer: Raw,
            replyOpts: new NatsSubOpts { Timeout = TimeSpan.FromSeconds(30) });
        return JsonNode.Parse(reply.Data!)!.AsObject();
    }

    public async Task<JsonObject> StartStreamAsync(string json)
    {
        var reply = await RequestAsync(Subjects.Start, json);
        Assert.False(reply.ContainsKey("error"), reply.ToJsonString());
        return reply;
    }

    /// <summary>Every message the JetStream record holds on <paramref name="subject"/>, in order, read until <paramref name="complete"/> says so.</summary>
    public async Task<List<INatsJSMsg<byte[]>>> RecordAsync(string subject, Func<List<INatsJSMsg<byte[]>>, bool> complete, TimeSpan? timeout = null)
    {
        var js = new NatsJSContext(Client);
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(90));
        // An ordered consumer over the whole record, filtered here: nats-server 2.9 refuses NATS.Net's filtered
        // consumer-create subject ("did not match filtered subject").
        var consumer = await js.CreateOrderedConsumerAsync(Host.Settings.StreamName, cancellationToken: cts.Token);
        var messages = new List<INatsJSMsg<byte[]>>();
        await foreach (var m in consumer.ConsumeAsync(Raw, cancellationToken: cts.Token))
        {
            if (m.Subject == subject) messages.Add(m);
            if (m.Metadata?.NumPending == 0 && complete(messages)) break;
        }
        return messages;
    }

    /// <summary>Events recorded for a stream until its closing event.</summary>
    public async Task<List<JsonObject>> EventsAsync(string stream, TimeSpan? timeout = null)
    {
        var msgs = await RecordAsync(Subjects.Events(stream), l => l.Count > 0 && IsEnd(Parse(l[^1])), timeout);
        return msgs.Select(Parse).ToList();
    }

    public static JsonObject Parse(INatsJSMsg<byte[]> m) => JsonNode.Parse(m.Data!)!.AsObject();

    private static bool IsEnd(JsonObject e) => (string?)e["type"] is "completed" or "cancelled" or "failed";

    public async ValueTask DisposeAsync()
    {
        await Host.StopAsync();
        await Client.DisposeAsync();
        await Server.DisposeAsync();
    }
}
