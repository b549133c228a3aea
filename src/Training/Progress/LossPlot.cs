using System.Globalization;
using System.Security;
using System.Text;

namespace SelfForcing.Training.Progress;

/// <summary>One curve: a name and its (step, value) points.</summary>
public sealed record LossSeries(string Name, IReadOnlyList<(long Step, double Value)> Points);

/// <summary>
/// The losses as a standalone SVG (no scripts, no external files): one panel per series, each with its own y range
/// (the generator's and the critic's losses differ by orders of magnitude), steps on x, one polyline per series with a
/// vertex per logged value. Non-finite values are left out of the line and counted in the panel's title.
/// </summary>
public static class LossPlot
{
    private const int Width = 760, PanelHeight = 200, Left = 70, Right = 20, Top = 30, Bottom = 30;

    public static void Write(string path, IReadOnlyList<LossSeries> series)
    {
        var temp = path + ".tmp";
        File.WriteAllText(temp, Render(series), new UTF8Encoding(false));
        File.Move(temp, path, overwrite: true);
    }

    public static string Render(IReadOnlyList<LossSeries> series)
    {
        var inv = CultureInfo.InvariantCulture;
        int height = Math.Max(1, series.Count) * (PanelHeight + Top + Bottom);
        var svg = new StringBuilder();
        svg.Append(inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{height}\" viewBox=\"0 0 {Width} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append(inv, $"<rect width=\"{Width}\" height=\"{height}\" fill=\"white\"/>\n");
        string[] colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"];
        for (int i = 0; i < series.Count; i++)
        {
            var s = series[i];
            var finite = s.Points.Where(p => double.IsFinite(p.Value)).ToList();
            int y0 = i * (PanelHeight + Top + Bottom) + Top;
            double plotW = Width - Left - Right;
            string title = SecurityElement.Escape(s.Name)
                + (finite.Count > 0 ? string.Create(inv, $" (last {finite[^1].Value:G4} at step {finite[^1].Step})") : " (no values)")
                + (finite.Count < s.Points.Count ? $", {s.Points.Count - finite.Count} non-finite left out" : "");
            svg.Append(inv, $"<g id=\"series-{i}\">\n<text x=\"{Left}\" y=\"{y0 - 10}\" font-weight=\"bold\">{title}</text>\n");
            svg.Append(inv, $"<rect x=\"{Left}\" y=\"{y0}\" width=\"{plotW}\" height=\"{PanelHeight}\" fill=\"none\" stroke=\"#999\"/>\n");
            if (finite.Count > 0)
            {
                long xMin = finite.Min(p => p.Step), xMax = finite.Max(p => p.Step);
                double yMin = finite.Min(p => p.Value), yMax = finite.Max(p => p.Value);
                if (yMax == yMin) { yMin -= 0.5 * Math.Max(1e-12, Math.Abs(yMin)); yMax += 0.5 * Math.Max(1e-12, Math.Abs(yMax)); }
                double X(long step) => Left + (xMax == xMin ? plotW / 2 : (step - xMin) * plotW / (xMax - xMin));
                double Y(double v) => y0 + PanelHeight - (v - yMin) * PanelHeight / (yMax - yMin);
                svg.Append(inv, $"<text x=\"{Left - 6}\" y=\"{y0 + 10}\" text-anchor=\"end\">{yMax:G4}</text>\n");
                svg.Append(inv, $"<text x=\"{Left - 6}\" y=\"{y0 + PanelHeight}\" text-anchor=\"end\">{yMin:G4}</text>\n");
                svg.Append(inv, $"<text x=\"{Left}\" y=\"{y0 + PanelHeight + 16}\">step {xMin}</text>\n");
                svg.Append(inv, $"<text x=\"{Width - Right}\" y=\"{y0 + PanelHeight + 16}\" text-anchor=\"end\">step {xMax}</text>\n");
                svg.Append(inv, $"<polyline fill=\"none\" stroke=\"{colours[i % colours.Length]}\" stroke-width=\"1.2\" points=\"");
                svg.AppendJoin(' ', finite.Select(p => string.Create(inv, $"{X(p.Step):F1},{Y(p.Value):F1}")));
                svg.Append("\"/>\n");
            }
            svg.Append("</g>\n");
        }
        svg.Append("</svg>\n");
        return svg.ToString();
    }
}
