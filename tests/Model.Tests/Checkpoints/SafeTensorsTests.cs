using SelfForcing.Model.Checkpoints;
using static TorchSharp.torch;

namespace SelfForcing.Model.Tests.Checkpoints;

public class SafeTensorsTests
{
    public static IEnumerable<object[]> DTypes() =>
        new[] { ScalarType.Float32, ScalarType.Float16, ScalarType.BFloat16, ScalarType.Float64, ScalarType.Int64, ScalarType.Int32, ScalarType.Byte, ScalarType.Bool }
            .Select(d => new object[] { d });

    [Theory]
    [MemberData(nameof(DTypes))]
    public void Writer_round_trips_every_dtype(ScalarType dtype)
    {
        var path = Path.GetTempFileName();
        try
        {
            using var scope = NewDisposeScope();
            var g = new Generator(3);
            var a = (randn([3, 5], generator: g) * 10).to(dtype);
            var b = (randn([4, 3], generator: g) * 10).to(dtype).t(); // non-contiguous input
            var s = tensor(7.5).to(dtype); // 0-d
            SafeTensorsWriter.Write(path, new Dictionary<string, Tensor> { ["z.a"] = a, ["b"] = b, ["scalar"] = s }, new Dictionary<string, string> { ["format"] = "pt" });
            using var f = SafeTensorsFile.Open(path);
            Assert.Equal("pt", f.Metadata["format"]);
            foreach (var (k, t) in new[] { ("z.a", a), ("b", b), ("scalar", s) })
            {
                var r = f.Load(k);
                Assert.Equal(dtype, r.dtype);
                Assert.Equal(t.shape, r.shape);
                Assert.True(r.to(ScalarType.Float64).eq(t.contiguous().to(ScalarType.Float64)).all().item<bool>(), $"{k} differs after round trip");
            }
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Header_with_duplicate_or_garbage_is_refused()
    {
        var path = Path.GetTempFileName();
        try
        {
            foreach (var header in new[] { "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                         "not json at all", "[1,2,3]", "{\"a\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                         "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}" })
            {
                var h = System.Text.Encoding.UTF8.GetBytes(header);
                using (var fs = File.Create(path))
                {
                    fs.Write(BitConverter.GetBytes((ulong)h.Length));
                    fs.Write(h);
                    fs.Write(new byte[4]);
                }
                Assert.Throws<CheckpointFormatException>(() => SafeTensorsFile.Open(path).Dispose());
            }
        }
        finally { File.Delete(path); }
    }
}
