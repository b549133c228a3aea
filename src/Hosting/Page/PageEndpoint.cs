using System.Net;

namespace SelfForcing.Hosting.Page;

/// <summary>The page's listen address: <c>host:port</c> with an IP or <c>localhost</c>.</summary>
public static class PageEndpoint
{
    public static bool TryParse(string text, out IPEndPoint endpoint)
    {
        endpoint = null!;
        if (text.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase)) text = "127.0.0.1" + text["localhost".Length..];
        if (!IPEndPoint.TryParse(text, out var parsed) || parsed.Port is < 0 or > 65535 || !text.Contains(':')) return false;
        endpoint = parsed;
        return true;
    }
}
