namespace SelfForcing.Hosting.Tests;

/// <summary>Impossible attention windows are refused by the command line with one line naming the values, for the tiny model too.</summary>
public class GenerateValidationTests
{
    [Theory]
    [InlineData("2", "5", "sink_size (5) must be smaller than local_attn_size (2)")]
    [InlineData("-1", "3", "sink_size (3) needs rolling attention")]
    [InlineData("4", "2", "sink_size (2) + num_frame_per_block (3) must fit in local_attn_size (4)")]
    [InlineData("0", "0", "local_attn_size (0) must be -1 (global) or positive")]
    public void Generate_rejects_an_impossible_window(string localAttnSize, string sinkSize, string expected)
    {
        var dir = Directory.CreateTempSubdirectory("sf-gen-bad-");
        try
        {
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            int rc = Cli.Run(["generate", "--model", "tiny-random", "--prompt", "x", "--chunks", "2", "--latent-height", "8", "--latent-width", "8",
                "--local-attn-size", localAttnSize, "--sink-size", sinkSize, "--out-dir", dir.FullName], stdout, stderr);
            Assert.Equal(1, rc);
            var error = stderr.ToString().TrimEnd();
            Assert.DoesNotContain('\n', error);
            Assert.StartsWith("error: ", error);
            Assert.Contains(expected, error);
            Assert.Empty(Directory.GetFiles(dir.FullName));
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void Generate_accepts_a_possible_window_on_the_tiny_model()
    {
        var dir = Directory.CreateTempSubdirectory("sf-gen-ok-");
        try
        {
            var stderr = new StringWriter();
            int rc = Cli.Run(["generate", "--model", "tiny-random", "--prompt", "x", "--chunks", "5", "--latent-height", "8", "--latent-width", "8",
                "--local-attn-size", "6", "--sink-size", "3", "--out-dir", dir.FullName], new StringWriter(), stderr);
            Assert.True(rc == 0, stderr.ToString());
            Assert.Single(Directory.GetFiles(dir.FullName, "*.mp4"));
        }
        finally { dir.Delete(true); }
    }
}
