using System.Text.Json;
using PuppeteerSharp;

namespace SelfForcing.Hosting.Tests.Page;

/// <summary>
/// Headless Chromium from Debian (/usr/bin/chromium) driven by PuppeteerSharp; it never downloads a browser. A missing
/// chromium fails the test with the reason: CI installs it, and a browser test that passes without a browser proves nothing.
/// </summary>
public sealed class Browser : IAsyncDisposable
{
    public const string Executable = "/usr/bin/chromium";
    private readonly IBrowser _browser;

    /// <summary>Where screenshots go: TestResults/page under the repository root (ignored by git).</summary>
    public static string ScreenshotDir { get; } = FindScreenshotDir();

    private Browser(IBrowser browser) => _browser = browser;

    public static async Task<Browser> LaunchAsync()
    {
        if (!File.Exists(Executable))
            throw new Xunit.Sdk.XunitException($"chromium is not installed at {Executable} (Debian: apt-get install -y chromium); the page's browser tests need it");
        var browser = await Puppeteer.LaunchAsync(new LaunchOptions
        {
            ExecutablePath = Executable,
            Headless = true,
            Args = ["--no-sandbox", "--headless=new", "--autoplay-policy=no-user-gesture-required", "--disable-gpu", "--disable-dev-shm-usage", "--mute-audio",
                   // Several pages play at once in one window: background tabs must not defer or suspend their media.
                   "--disable-background-media-suspend", "--disable-renderer-backgrounding", "--disable-background-timer-throttling",
                   "--disable-backgrounding-occluded-windows"],
            Timeout = 60_000,
        });
        return new Browser(browser);
    }

    public async Task<IPage> OpenAsync(string url)
    {
        var page = await NewBarePageAsync();
        await page.GoToAsync(url, WaitUntilNavigation.Load);
        return page;
    }

    /// <summary>A page that has not loaded anything yet (to change the browser's features before the page's script runs).</summary>
    public async Task<IPage> NewBarePageAsync()
    {
        var page = await _browser.NewPageAsync();
        page.DefaultTimeout = 60_000;
        await page.SetViewportAsync(new ViewPortOptions { Width = 1100, Height = 800 });
        return page;
    }

    public static async Task<string> ScreenshotAsync(IPage page, string name)
    {
        var path = Path.Combine(ScreenshotDir, name + ".png");
        await page.ScreenshotAsync(path);
        return path;
    }

    /// <summary>Waits until the expression is truthy in the page (polled every 50 ms).</summary>
    public static async Task WaitAsync(IPage page, string expression, int timeoutMs = 60_000)
    {
        try { await page.WaitForFunctionAsync($"() => {expression}", new WaitForFunctionOptions { Timeout = timeoutMs, PollingInterval = 50 }); }
        catch (WaitTaskTimeoutException)
        {
            throw new Xunit.Sdk.XunitException($"after {timeoutMs} ms, still not true: {expression}\npage {page.Url}: {await DescribeAsync(page)}");
        }
    }

    /// <summary>What the page knows, for failure messages.</summary>
    public static Task<string> DescribeAsync(IPage page) => page.EvaluateExpressionAsync<string>("""
        (() => { const p = window.sfPage, v = document.getElementById('video');
          const b = []; for (let i = 0; i < v.buffered.length; i++) b.push(`${v.buffered.start(i).toFixed(2)}-${v.buffered.end(i).toFixed(2)}`);
          return JSON.stringify({ stream: p.stream, state: p.state, frames: p.framesReceived, chunks: p.chunks.length, errors: p.errors,
            video: { time: v.currentTime, ready: v.readyState, paused: v.paused, error: v.error && v.error.message, buffered: b, src: v.src } }); })()
        """);

    public static async Task<T> EvalAsync<T>(IPage page, string expression) =>
        JsonSerializer.Deserialize<T>(await page.EvaluateExpressionAsync<string>($"JSON.stringify({expression})"), new JsonSerializerOptions { PropertyNameCaseInsensitive = true })!;

    /// <summary>The frame the video element shows now, drawn onto a canvas: where it is, how bright, how varied, a hash of its pixels.</summary>
    public static Task<FrameSample> SampleAsync(IPage page) => EvalAsync<FrameSample>(page, SampleScript("video"));

    /// <summary>The sampling expression for the video element or the JPEG canvas (<paramref name="element"/> is its id).</summary>
    public static string SampleScript(string element) => """
        (() => {
          const v = document.getElementById('ELEMENT');
          const w = v.videoWidth ?? v.width, ht = v.videoHeight ?? v.height, time = v.currentTime ?? 0;
          if (!w) return { time, mean: 0, std: 0, hash: 0, width: 0 };
          const c = document.createElement('canvas'); c.width = w; c.height = ht;
          const g = c.getContext('2d'); g.drawImage(v, 0, 0);
          const d = g.getImageData(0, 0, c.width, c.height).data;
          let sum = 0, sq = 0, h = 0;
          for (let i = 0; i < d.length; i += 4) {
            const y = (d[i] + d[i + 1] + d[i + 2]) / 3; sum += y; sq += y * y;
            h = (Math.imul(h, 31) + d[i] * 65536 + d[i + 1] * 256 + d[i + 2]) >>> 0;
          }
          const n = d.length / 4, mean = sum / n;
          return { time, mean, std: Math.sqrt(Math.max(0, sq / n - mean * mean)), hash: h, width: c.width };
        })()
        """.Replace("ELEMENT", element, StringComparison.Ordinal);

    public async ValueTask DisposeAsync() => await _browser.CloseAsync();

    private static string FindScreenshotDir()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "SelfForcing.Actors.sln"))) dir = dir.Parent;
        var path = Path.Combine(dir?.FullName ?? AppContext.BaseDirectory, "TestResults", "page");
        Directory.CreateDirectory(path);
        return path;
    }
}

public sealed record FrameSample(double Time, double Mean, double Std, long Hash, int Width);
