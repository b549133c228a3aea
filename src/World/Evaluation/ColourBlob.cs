namespace SelfForcing.World.Evaluation;

/// <summary>A 4-connected region of one colour in one frame. <paramref name="Core"/> counts its pixels whose four
/// neighbours share its colour: thin fringes (the colour a blurred edge between two others happens to be nearest to)
/// have none, real objects keep most of their area.</summary>
public sealed record ColourBlob(int Area, int Core, double CentroidX, double CentroidY, int MinX, int MaxX, int MinY, int MaxY)
{
    public double FillRatio => Area / (double)((MaxX - MinX + 1) * (MaxY - MinY + 1));

    /// <summary>How far down its bounding box the centroid sits, 0 (top) to 1 (bottom): ½ for shapes symmetric top to
    /// bottom (circle, square), ⅔ for a triangle standing on its base.</summary>
    public double CentroidDepth => (CentroidY + 0.5 - MinY) / (MaxY - MinY + 1);

    /// <summary>The largest-core region of each label in one frame; labels are 0..<paramref name="labelCount"/>−1, −1 = background.</summary>
    public static ColourBlob?[] LargestPerLabel(int[] labels, int width, int height, int labelCount)
    {
        var best = new ColourBlob?[labelCount];
        var seen = new bool[labels.Length];
        var queue = new int[labels.Length];
        for (int start = 0; start < labels.Length; start++)
        {
            int label = labels[start];
            if (label < 0 || seen[start]) continue;
            int head = 0, tail = 0, area = 0, core = 0, minX = int.MaxValue, maxX = -1, minY = int.MaxValue, maxY = -1;
            double sumX = 0, sumY = 0;
            queue[tail++] = start;
            seen[start] = true;
            while (head < tail)
            {
                int p = queue[head++], x = p % width, y = p / width;
                area++;
                sumX += x;
                sumY += y;
                minX = Math.Min(minX, x); maxX = Math.Max(maxX, x);
                minY = Math.Min(minY, y); maxY = Math.Max(maxY, y);
                int same = 0;
                foreach (var (nx, ny) in new[] { (x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1) })
                {
                    if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
                    int q = ny * width + nx;
                    if (labels[q] != label) continue;
                    same++;
                    if (!seen[q]) { seen[q] = true; queue[tail++] = q; }
                }
                if (same == 4) core++;
            }
            if (best[label] is null || core > best[label]!.Core || (core == best[label]!.Core && area > best[label]!.Area))
                best[label] = new ColourBlob(area, core, sumX / area, sumY / area, minX, maxX, minY, maxY);
        }
        return best;
    }
}
