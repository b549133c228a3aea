using SelfForcing.Training.Data;
using static TorchSharp.torch;

namespace SelfForcing.Training.Tests.Data;

/// <summary>Prompt files and the on-disk text-embedding cache.</summary>
public sealed class PromptDataTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("sf-prompts-");

    /// <summary>A deterministic encoder (seeded by the prompt) that counts its calls.</summary>
    private sealed class CountingEncoder(string identity = "counting-v1") : IPromptEncoder
    {
        public int Calls { get; private set; }
        public string Identity => identity;
        public Tensor Encode(string prompt)
        {
            Calls++;
            using var g = new Generator((ulong)prompt.Aggregate(17L, (h, c) => h * 31 + c) & 0xFFFFFFFF);
            return randn([1, 8, 4], generator: g);
        }
    }

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    [Fact]
    public void Embeddings_are_computed_once_and_reused_by_a_later_run()
    {
        string[] prompts = ["a red fox", "a blue car", "a red fox"];
        var first = new CountingEncoder();
        var cacheA = new PromptEmbeddingCache(_dir.FullName, first);
        var a = prompts.Select(cacheA.Get).ToList();
        Assert.Equal(2, first.Calls); // the repeated prompt is read back from disk
        Assert.Equal(2, cacheA.Computed);
        Assert.Equal(1, cacheA.Reused);

        var second = new CountingEncoder();
        var cacheB = new PromptEmbeddingCache(_dir.FullName, second); // a new run: nothing in memory
        var b = prompts.Select(cacheB.Get).ToList();
        Assert.Equal(0, second.Calls);
        Assert.Equal(3, cacheB.Reused);
        Assert.All(a.Zip(b), p => Assert.True(Same(p.First, p.Second)));
        Assert.True(Same(b[0], first.Encode("a red fox")));
    }

    [Fact]
    public void Another_encoder_does_not_see_the_entries()
    {
        new PromptEmbeddingCache(_dir.FullName, new CountingEncoder("enc-a")).Get("a red fox");
        var other = new CountingEncoder("enc-b");
        new PromptEmbeddingCache(_dir.FullName, other).Get("a red fox");
        Assert.Equal(1, other.Calls);
        Assert.Equal(2, Directory.GetFiles(_dir.FullName, "*.safetensors").Length);
    }

    [Theory]
    [InlineData("flip a data byte")]
    [InlineData("truncate")]
    [InlineData("garbage")]
    [InlineData("another prompt's entry")]
    public void A_damaged_entry_is_recomputed_not_trusted(string damage)
    {
        var encoder = new CountingEncoder();
        var cache = new PromptEmbeddingCache(_dir.FullName, encoder);
        var good = cache.Get("a red fox");
        var path = cache.PathOf("a red fox");
        var bytes = File.ReadAllBytes(path);
        switch (damage)
        {
            case "flip a data byte": bytes[^3] ^= 0x40; File.WriteAllBytes(path, bytes); break;
            case "truncate": File.WriteAllBytes(path, bytes[..(bytes.Length - 5)]); break;
            case "garbage": File.WriteAllBytes(path, [1, 2, 3]); break;
            case "another prompt's entry": cache.Get("a blue car"); File.Copy(cache.PathOf("a blue car"), path, overwrite: true); break;
        }
        int callsBefore = encoder.Calls;
        var log = new StringWriter();
        var again = new PromptEmbeddingCache(_dir.FullName, encoder, log).Get("a red fox");
        Assert.Equal(callsBefore + 1, encoder.Calls);
        Assert.True(Same(good, again));
        Assert.Contains("recomputing a damaged text-embedding cache entry", log.ToString());
        // The entry was rewritten: the next read trusts it.
        var third = new CountingEncoder();
        new PromptEmbeddingCache(_dir.FullName, third).Get("a red fox");
        Assert.Equal(0, third.Calls);
    }

    [Fact]
    public void Prompt_file_skips_blank_lines_and_refuses_empty_or_missing_files()
    {
        var path = Path.Combine(_dir.FullName, "prompts.txt");
        File.WriteAllText(path, "a red fox\n\n   \r\na blue car  \n");
        Assert.Equal(["a red fox", "a blue car"], PromptFile.Read(path));
        File.WriteAllText(path, "\n \n");
        Assert.Contains("has no prompts", Assert.Throws<InvalidDataException>(() => PromptFile.Read(path)).Message);
        Assert.Contains("not found", Assert.Throws<FileNotFoundException>(() => PromptFile.Read(Path.Combine(_dir.FullName, "none.txt"))).Message);
    }

    [Fact]
    public void Batches_follow_the_step_so_a_resume_sees_the_same_prompts()
    {
        var b = new PromptBatches(promptCount: 7, batchSize: 2, dfakeGenUpdateRatio: 5, seed: 3);
        // Walk the phases in order and check every batch is the next slice of one fixed permutation, repeated.
        var seen = new List<int>();
        for (long step = 0; step < 12; step++)
        {
            if (step % 5 == 0) seen.AddRange(b.Generator(step));
            seen.AddRange(b.Critic(step));
        }
        var pass = seen.Take(7).ToList();
        Assert.Equal(Enumerable.Range(0, 7), pass.Order());
        for (int i = 0; i < seen.Count; i++) Assert.Equal(pass[i % 7], seen[i]);
    }

    public void Dispose() => _dir.Delete(true);
}
