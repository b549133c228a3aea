// Starts a stream on `selfforcing serve` and writes its fMP4 video to a file while printing its events.
// Usage: dotnet run --project examples/StreamClient -- [nats-url] [prompt] [out.mp4]
using System.Text.Json.Nodes;
using NATS.Client.Core;

var url = args.Length > 0 ? args[0] : "nats://127.0.0.1:4222";
var prompt = args.Length > 1 ? args[1] : "a cat surfing a wave";
var file = args.Length > 2 ? args[2] : "stream.mp4";
var raw = NatsRawSerializer<byte[]>.Default;
await using var nats = new NatsConnection(new NatsOpts { Url = url });

var request = new JsonObject { ["prompt"] = prompt, ["seed"] = -1, ["chunks"] = 4 }.ToJsonString();
var reply = await nats.RequestAsync<byte[], byte[]>("selfforcing.api.start", System.Text.Encoding.UTF8.GetBytes(request),
    requestSerializer: raw, replySerializer: raw, replyOpts: new NatsSubOpts { Timeout = TimeSpan.FromSeconds(30) });
var started = JsonNode.Parse(reply.Data!)!.AsObject();
if (started["error"] is { } error) { Console.Error.WriteLine($"refused: {error}"); return 1; }
Console.WriteLine($"stream {started["stream"]} (seed {started["seed"]})");

await using var output = File.Create(file);
var video = Task.Run(async () =>
{
    await foreach (var m in nats.SubscribeAsync(started["video_subject"]!.ToString(), serializer: raw))
        await output.WriteAsync(m.Data); // init segment, then one fMP4 fragment per chunk: the file plays as it grows
});
await foreach (var m in nats.SubscribeAsync(started["events_subject"]!.ToString(), serializer: raw))
{
    var e = JsonNode.Parse(m.Data!)!;
    Console.WriteLine(e.ToJsonString());
    if (e["type"]!.ToString() is "completed" or "cancelled" or "failed") break;
}
await Task.Delay(500); // the last segment precedes the closing event; let it land
return 0;
