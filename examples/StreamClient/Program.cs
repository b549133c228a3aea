// Starts a stream on `selfforcing serve` and writes its fMP4 video to a file while printing its events.
// Usage: dotnet run --project examples/StreamClient -- [nats-url] [prompt] [out.mp4]
using System.Text.Json.Nodes;
using NATS.Client.Core;

var url = args.Length > 0 ? args[0] : "nats://127.0.0.1:4222";
var prompt = args.Length > 1 ? args[1] : "a cat surfing a wave";
var file = args.Length > 2 ? args[2] : "stream.mp4";
var raw = NatsRawSerializer<byte[]>.Default;
await using var nats = new NatsConnection(new NatsOpts { Url = url });

// Listen before starting (the stream's id comes with the reply): nothing published in between is missed.
await using var video = await nats.SubscribeCoreAsync("selfforcing.streams.*.video", serializer: raw);
await using var events = await nats.SubscribeCoreAsync("selfforcing.streams.*.events", serializer: raw);
await nats.PingAsync();

var request = new JsonObject { ["prompt"] = prompt, ["seed"] = -1, ["chunks"] = 4 }.ToJsonString();
var reply = await nats.RequestAsync<byte[], byte[]>("selfforcing.api.start", System.Text.Encoding.UTF8.GetBytes(request),
    requestSerializer: raw, replySerializer: raw, replyOpts: new NatsSubOpts { Timeout = TimeSpan.FromSeconds(30) });
var started = JsonNode.Parse(reply.Data!)!.AsObject();
if (started["error"] is { } error) { Console.Error.WriteLine($"refused: {error}"); return 1; }
Console.WriteLine($"stream {started["stream"]} (seed {started["seed"]})");

await using var output = File.Create(file);
long framesWritten = 0;
_ = Task.Run(async () =>
{
    await foreach (var m in video.Msgs.ReadAllAsync())
    {
        if (m.Subject != started["video_subject"]!.ToString()) continue;
        await output.WriteAsync(m.Data); // the init segment, then one fragment per chunk
        Interlocked.Add(ref framesWritten, long.Parse(m.Headers!["Sf-Frames"]!));
    }
});
await foreach (var m in events.Msgs.ReadAllAsync())
{
    if (m.Subject != started["events_subject"]!.ToString()) continue;
    var e = JsonNode.Parse(m.Data!)!;
    Console.WriteLine(e.ToJsonString());
    if (e["type"]!.ToString() is not ("completed" or "cancelled" or "failed")) continue;
    // The closing event counts the frames published; wait (briefly) until the file holds them all.
    for (int i = 0; i < 100 && Interlocked.Read(ref framesWritten) < (long)e["frames"]!; i++) await Task.Delay(100);
    break;
}
return 0;
