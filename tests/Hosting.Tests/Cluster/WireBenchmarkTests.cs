using System.Globalization;
using SelfForcing.Hosting.Bench;

namespace SelfForcing.Hosting.Tests.Cluster;

public class WireBenchmarkTests
{
    [Fact]
    public void Bench_wire_measures_every_chunk_message_over_a_real_loopback_hop()
    {
        var output = new StringWriter();
        WireBenchmark.Run(4, 6, 2, output);
        var rows = output.ToString().Split('\n').Where(l => l.StartsWith("TextEncoded") || l.StartsWith("ChunkDenoised") || l.StartsWith("EncodeJob")).ToList();
        Assert.Equal(4, rows.Count);
        foreach (var row in rows)
        {
            var numbers = row[58..].Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Select(n => double.Parse(n.Replace(",", ""), CultureInfo.InvariantCulture)).ToArray();
            Assert.Equal(4, numbers.Length);
            Assert.True(numbers[0] > 0 && numbers[3] > 0, row); // bytes, hop
            Assert.True(numbers[1] >= 0 && numbers[2] >= 0, row); // (de)serialising a tiny message may round to 0.00 ms
        }
        // bf16 latents travel at 2 bytes a value: [1,3,16,4,6] = 1,152 values.
        var bf16 = rows.Single(r => r.Contains("bf16"));
        long bytes = long.Parse(bf16[58..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0].Replace(",", ""), CultureInfo.InvariantCulture);
        Assert.InRange(bytes, 2 * 1152, 2 * 1152 + 512);
    }
}
