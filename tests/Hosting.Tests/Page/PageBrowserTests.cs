using System.Diagnostics;
using PuppeteerSharp;
using SelfForcing.Hosting.Tests.Serving;
using Xunit.Abstractions;

namespace SelfForcing.Hosting.Tests.Page;

/// <summary>The page in headless Chromium against a real serve host (tiny model, 64×64 video): what a person sees and does.</summary>
/// <remarks>Run alone (Chromium is heavy on two cores): the Stop latency is measured, and the other tests' connect timeouts are not crowded out.</remarks>
[Trait("Category", "Browser")]
[Collection(SerialCollection.Name)]
public class PageBrowserTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_started_stream_plays_frames_that_advance_and_are_not_blank_and_the_stats_update()
    {
        await using var f = await PageClient.StartAsync();
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.OpenAsync(f.Host.PageUrl!);
        await page.TypeAsync("#prompt", "a red fox running through snow");
        await SetAsync(page, "chunks", "4");
        await SetAsync(page, "fps", "8");
        await page.ClickAsync("#start");

        // Sample what the video element shows while it plays: the picture must change and must not be flat.
        await Browser.WaitAsync(page, "document.getElementById('video').currentTime > 0.2");
        var samples = new List<FrameSample>();
        for (int i = 0; i < 8; i++)
        {
            samples.Add(await Browser.SampleAsync(page));
            await Task.Delay(300);
        }
        output.WriteLine(string.Join("\n", samples));
        Assert.All(samples, s => Assert.Equal(64, s.Width));
        Assert.True(samples.Zip(samples.Skip(1)).All(p => p.Second.Time >= p.First.Time), "playback went backwards");
        Assert.True(samples[^1].Time - samples[0].Time > 1.0, $"playback did not advance: {samples[0].Time} → {samples[^1].Time}");
        Assert.True(samples.Select(s => s.Hash).Distinct().Count() >= 3, "the picture did not change while playing");
        Assert.All(samples, s => Assert.True(s.Std > 2, $"a blank frame (mean {s.Mean:F1}, std {s.Std:F2}) at {s.Time:F2}s"));

        await Browser.WaitAsync(page, "window.sfPage.state === 'completed'");
        var shot = await Browser.ScreenshotAsync(page, "playing");
        output.WriteLine($"screenshot: {shot}");
        Assert.Equal(VideoRecord.ExpectedFrames(4).ToString(), await TextAsync(page, "stat-frames"));
        Assert.Equal(4, await Browser.EvalAsync<int>(page, "window.sfPage.chunks.length"));
        Assert.Equal(100, await Browser.EvalAsync<int>(page, "document.getElementById('progress').value"));
        Assert.Equal("100 % · Done", await TextAsync(page, "progress-text"));
        Assert.Matches(@"^\d+\.\d$", await TextAsync(page, "stat-fps"));
        Assert.Matches(@"^\d+\.\d\d s$", await TextAsync(page, "stat-latency"));
        Assert.Matches(@"^#3: \d+\.\d{3} / \d+\.\d{3} / \d+\.\d{3} s$", await TextAsync(page, "stat-chunk"));
        // Seed −1: the page shows the seed the server drew, all 64 bits of it (a JS number would round it).
        string id = await Browser.EvalAsync<string>(page, "window.sfPage.stream");
        Assert.Equal(f.Host.Api.Find(id)!.Handle.Seed.ToString(System.Globalization.CultureInfo.InvariantCulture), await TextAsync(page, "stat-seed"));
        // The chart drew bars: some pixels of the chart canvas are not transparent.
        Assert.True(await Browser.EvalAsync<int>(page, """
            (() => { const c = document.getElementById('chart'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                     let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; })()
            """) > 100, "the per-chunk chart is empty");
        Assert.Empty(await Browser.EvalAsync<string[]>(page, "window.sfPage.errors"));
    }

    [Fact]
    public async Task Stop_cancels_at_once_frees_the_cache_a_reload_rejoins_and_start_works_again()
    {
        await using var f = await PageClient.StartAsync();
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.OpenAsync(f.Host.PageUrl!);
        await page.TypeAsync("#prompt", "an endless river");
        await page.ClickAsync("#endless");
        await page.ClickAsync("#start");
        await Browser.WaitAsync(page, "document.getElementById('video').currentTime > 0.2");
        string id = await Browser.EvalAsync<string>(page, "window.sfPage.stream");
        Assert.Contains($"stream={id}", page.Url);

        // A reload rejoins the running stream from its first message.
        await page.ReloadAsync();
        await Browser.WaitAsync(page, "window.sfPage.state === 'running' && document.getElementById('video').currentTime > 0.2");
        Assert.Equal(id, await Browser.EvalAsync<string>(page, "window.sfPage.stream"));
        Assert.True(f.Host.Api.Find(id)!.Live);
        Assert.Equal("an endless river", await Browser.EvalAsync<string>(page, "document.getElementById('prompt').value"));

        // Steer it: the live prompt box switches the running stream's prompt at a chunk boundary, announced on the page.
        await page.EvaluateExpressionAsync("document.getElementById('live-prompt').value = ''");
        await page.TypeAsync("#live-prompt", "a frozen river");
        await page.ClickAsync("#switch");
        await Browser.WaitAsync(page, "document.getElementById('switch-note').textContent.startsWith('prompt switched from chunk')", 20_000);
        Assert.Equal("a frozen river", f.Host.Api.Find(id)!.Prompt);

        var clock = Stopwatch.StartNew();
        await page.ClickAsync("#stop");
        while (f.Host.Api.Find(id)!.Live && clock.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(5);
        var serverStopped = clock.Elapsed;
        await Browser.WaitAsync(page, "window.sfPage.state === 'cancelled'", 10_000);
        var pageStopped = clock.Elapsed;
        output.WriteLine($"stop: stream ended on the server after {serverStopped.TotalMilliseconds:F0} ms, the page showed it after {pageStopped.TotalMilliseconds:F0} ms");
        await Browser.ScreenshotAsync(page, "stopped");
        Assert.True(serverStopped < TimeSpan.FromSeconds(1), $"the stream ran on for {serverStopped.TotalMilliseconds:F0} ms after Stop");
        Assert.True(pageStopped < TimeSpan.FromSeconds(2), $"the page showed the stop after {pageStopped.TotalMilliseconds:F0} ms");
        Assert.Equal("cancelled", f.Host.Api.Find(id)!.State);
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while ((await f.Host.Pipeline.CacheStateAsync()).CommittedChunks.Count > 0 && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.Empty((await f.Host.Pipeline.CacheStateAsync()).CommittedChunks);

        // Start again right away: a new stream plays.
        Assert.False(await Browser.EvalAsync<bool>(page, "document.getElementById('start').disabled"));
        await page.ClickAsync("#start");
        await Browser.WaitAsync(page, $"window.sfPage.stream !== '{id}' && window.sfPage.state === 'running' && document.getElementById('video').currentTime > 0.2");
        string second = await Browser.EvalAsync<string>(page, "window.sfPage.stream");
        Assert.True(f.Host.Api.Find(second)!.Live);

        // Start while its own stream runs replaces it: the page never leaves a stream running behind it.
        await page.ClickAsync("#start");
        await Browser.WaitAsync(page, $"window.sfPage.stream !== '{second}' && window.sfPage.state === 'running'");
        string third = await Browser.EvalAsync<string>(page, "window.sfPage.stream");
        deadline = DateTime.UtcNow.AddSeconds(5);
        while (f.Host.Api.Find(second)!.Live && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.Equal("cancelled", f.Host.Api.Find(second)!.State);
        Assert.True(f.Host.Api.Find(third)!.Live);
        await page.ClickAsync("#stop");
        await Browser.WaitAsync(page, "window.sfPage.state === 'cancelled'", 10_000);
    }

    [Fact]
    public async Task A_second_page_opened_from_the_share_link_sees_the_same_frames()
    {
        await using var f = await PageClient.StartAsync();
        await using var browser = await Browser.LaunchAsync();
        var first = await browser.OpenAsync(f.Host.PageUrl!);
        await first.TypeAsync("#prompt", "a lighthouse in a storm");
        await SetAsync(first, "seed", "9007199254740993"); // 2^53 + 1: not a JS number

        await SetAsync(first, "chunks", "3");
        await first.ClickAsync("#start");
        await Browser.WaitAsync(first, "!document.getElementById('share').hidden");
        string link = await Browser.EvalAsync<string>(first, "document.getElementById('share-start').href");
        var second = await browser.OpenAsync(link);
        var live = await browser.OpenAsync(await Browser.EvalAsync<string>(first, "document.getElementById('share-live').href"));
        foreach (var p in new[] { first, second, live })
        {
            await p.BringToFrontAsync(); // as a person would look at each tab
            await Browser.WaitAsync(p, "window.sfPage.state === 'completed' && document.getElementById('video').readyState >= 2");
        }
        Assert.Equal(await TextAsync(first, "stat-stream"), await TextAsync(second, "stat-stream"));
        Assert.Equal("9007199254740993", await TextAsync(first, "stat-seed"));
        Assert.Equal("9007199254740993", await TextAsync(second, "stat-seed"));
        Assert.Equal(9007199254740993L, f.Host.Api.Find(await TextAsync(first, "stat-stream"))!.Handle.Seed);

        // The same instants of both videos show the same pixels (same bytes, same decoder).
        double duration = await Browser.EvalAsync<double>(first, "document.getElementById('video').buffered.end(0)");
        Assert.True(duration > 3, $"only {duration:F2}s buffered");
        var hashes = new List<long>();
        foreach (double t in new[] { 0.3, 1.4, 2.6, duration - 0.2 })
        {
            var a = await SeekAndSampleAsync(first, t);
            var b = await SeekAndSampleAsync(second, t);
            output.WriteLine($"t={t:F2}: {a} | {b}");
            Assert.Equal(a.Hash, b.Hash);
            Assert.True(a.Std > 2, $"blank frame at {t:F2}s");
            hashes.Add(a.Hash);
        }
        Assert.True(hashes.Distinct().Count() >= 3, "the sampled instants all looked alike");
        await Browser.ScreenshotAsync(second, "shared-viewer");
        await Browser.ScreenshotAsync(live, "shared-live-viewer");
    }

    [Fact]
    public async Task Invalid_requests_show_the_servers_error_in_words()
    {
        await using var f = await PageClient.StartAsync();
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.OpenAsync(f.Host.PageUrl!);
        await page.TypeAsync("#prompt", "x");
        await SetAsync(page, "fps", "99");
        await page.ClickAsync("#start");
        await Browser.WaitAsync(page, "!document.getElementById('error').hidden");
        Assert.Equal("'fps' must be between 1 and 16 (got 99) (field: fps)", await TextAsync(page, "error"));
        Assert.True(await Browser.EvalAsync<bool>(page, "document.getElementById('fps').classList.contains('invalid')"));
        await Browser.ScreenshotAsync(page, "invalid-fps");

        await page.EvaluateExpressionAsync("document.getElementById('prompt').value = ''; document.getElementById('fps').value = '6'");
        await page.ClickAsync("#start");
        await Browser.WaitAsync(page, "document.getElementById('error').textContent.includes('prompt')");
        Assert.Equal("'prompt' is empty (field: prompt)", await TextAsync(page, "error"));

        // A link to a stream that does not exist says so.
        var stray = await browser.OpenAsync(f.Host.PageUrl + "?stream=s0nope");
        await Browser.WaitAsync(stray, "!document.getElementById('error').hidden");
        Assert.Equal("unknown stream 's0nope' (field: stream)", await TextAsync(stray, "error"));
        Assert.Empty(f.Host.Api.Streams);
    }

    [Fact]
    public async Task Without_media_source_extensions_the_page_plays_jpeg_frames_on_a_canvas()
    {
        await using var f = await PageClient.StartAsync();
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewBarePageAsync();
        await page.EvaluateExpressionOnNewDocumentAsync("delete window.MediaSource; delete window.ManagedMediaSource;");
        await page.GoToAsync(f.Host.PageUrl!);
        await page.TypeAsync("#prompt", "a paper boat");
        await SetAsync(page, "chunks", "2");
        await page.ClickAsync("#start");
        await Browser.WaitAsync(page, "window.sfPage.state === 'completed'");
        string id = await Browser.EvalAsync<string>(page, "window.sfPage.stream");
        Assert.Equal("jpeg", (string)(await f.EventsAsync(id))[0]["format"]!);
        Assert.True(await Browser.EvalAsync<bool>(page, "document.getElementById('video').hidden && !document.getElementById('jpeg').hidden"));
        var hashes = new List<long>();
        for (int i = 0; i < 5; i++)
        {
            var s = await Browser.EvalAsync<FrameSample>(page, Browser.SampleScript("jpeg"));
            Assert.Equal(64, s.Width);
            Assert.True(s.Std > 2, $"a blank canvas (mean {s.Mean:F1}, std {s.Std:F2})");
            hashes.Add(s.Hash);
            await Task.Delay(200);
        }
        Assert.True(hashes.Distinct().Count() >= 2, "the canvas did not change");
        await Browser.ScreenshotAsync(page, "jpeg-fallback");
    }

    private static Task SetAsync(IPage page, string id, string value) =>
        page.EvaluateExpressionAsync($"(() => {{ const e = document.getElementById('{id}'); e.value = '{value}'; e.dispatchEvent(new Event('change')); }})()");

    private static Task<string> TextAsync(IPage page, string id) => page.EvaluateExpressionAsync<string>($"document.getElementById('{id}').textContent");

    private static async Task<FrameSample> SeekAndSampleAsync(IPage page, double t)
    {
        await page.BringToFrontAsync(); // a background tab does not paint, so a seek there may never show
        bool seeked = await page.EvaluateExpressionAsync<bool>($$"""
            new Promise(resolve => { const v = document.getElementById('video'); v.pause();
              const timer = setTimeout(() => resolve(false), 10000);
              v.addEventListener('seeked', () => { clearTimeout(timer); setTimeout(() => resolve(true), 100); }, { once: true });
              v.currentTime = {{t.ToString(System.Globalization.CultureInfo.InvariantCulture)}}; })
            """);
        Assert.True(seeked, $"the video did not seek to {t:F2}s: {await Browser.DescribeAsync(page)}");
        return await Browser.SampleAsync(page);
    }
}
