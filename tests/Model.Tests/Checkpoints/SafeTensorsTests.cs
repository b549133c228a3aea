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
    public void A_symbolic_link_to_a_file_opens_as_the_file()
    {
        // FileInfo.Length of a link is the link's own length; Hugging Face's cache hands out links to its blobs.
        var dir = Directory.CreateTempSubdirectory("sf-link-");
        try
        {
            using var scope = NewDisposeScope();
            var target = Path.Combine(dir.FullName, "blob");
            var a = randn([64, 32], generator: new Generator(5));
            SafeTensorsWriter.Write(target, new Dictionary<string, Tensor> { ["w"] = a }, new Dictionary<string, string>());
            var link = Path.Combine(dir.FullName, "model.safetensors");
            File.CreateSymbolicLink(link, target);
            using var f = SafeTensorsFile.Open(link);
            Assert.True(f.Load("w").eq(a).all().item<bool>());
        }
        finally { dir.Delete(true); }
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

    [Theory]
    [InlineData("{\"weight_map\":{\"a\":\"../outside.safetensors\"}}", "not a file in the folder")]
    [InlineData("{\"weight_map\":{\"a\":\"/etc/passwd\"}}", "not a file in the folder")]
    [InlineData("{\"weight_map\":{\"a\":\"sub/shard.safetensors\"}}", "not a file in the folder")]
    [InlineData("{\"weight_map\":[1,2]}", "malformed safetensors index")]
    [InlineData("not json", "malformed safetensors index")]
    public void Shard_index_naming_files_outside_the_folder_or_malformed_is_refused(string index, string problem)
    {
        var dir = Directory.CreateTempSubdirectory("sf-index-");
        try
        {
            var folder = Directory.CreateDirectory(Path.Combine(dir.FullName, "model")).FullName;
            using (var scope = NewDisposeScope())
            {
                SafeTensorsWriter.Write(Path.Combine(dir.FullName, "outside.safetensors"), new Dictionary<string, Tensor> { ["a"] = ones(2) }, new Dictionary<string, string>());
                SafeTensorsWriter.Write(Path.Combine(folder, "shard.safetensors"), new Dictionary<string, Tensor> { ["a"] = ones(2) }, new Dictionary<string, string>());
            }
            var indexPath = Path.Combine(folder, "model.safetensors.index.json");
            File.WriteAllText(indexPath, index);
            var ex = Assert.Throws<CheckpointFormatException>(() => StateDict.Open(folder).Dispose());
            Assert.Contains(indexPath, ex.Message);
            Assert.Contains(problem, ex.Message);
        }
        finally { dir.Delete(true); }
    }
}
