using SelfForcing.Training.Dmd;
using SelfForcing.Training.Optim;
using SelfForcing.Training.Randomness;
using static TorchSharp.torch;

namespace SelfForcing.Training.Tests.Dmd;

/// <summary>A long rollout scored one window of whole chunks at a time (<c>train --score-window</c>).</summary>
public class ScoreWindowTests
{
    /// <summary>Answers every integer draw with <c>value</c> and records the roles asked for.</summary>
    private sealed class FixedDraws(long value) : ITrainingRandom
    {
        public List<(string Role, long Low, long High)> Asked { get; } = [];
        public Tensor RandInt(long low, long high, long[] shape, string role)
        {
            Asked.Add((role, low, high));
            return full(shape, value, ScalarType.Int64);
        }
        public Tensor Randn(long[] shape, ScalarType dtype, Device device, string role) => throw new InvalidOperationException(role);
    }

    [Theory]
    [InlineData(0L, 0L)]
    [InlineData(2L, 6L)]
    [InlineData(9L, 27L)]
    public void The_window_is_the_drawn_chunk_onwards(long drawn, long firstFrame)
    {
        using var video = arange(2 * 36 * 2, ScalarType.Float32).reshape(2, 36, 2, 1, 1);
        var draws = new FixedDraws(drawn);
        using var window = ScoreWindow.Take(video, 9, 3, draws);
        Assert.Equal([2L, 9, 2, 1, 1], window.shape);
        Assert.True(window.eq(video.narrow(1, firstFrame, 9)).all().item<bool>());
        // One draw for the batch, over every chunk a 9-frame window can start at: 0, 3, …, 27.
        Assert.Equal([(ScoreWindow.Role, 0L, 10L)], draws.Asked);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(36)]
    [InlineData(45)]
    public void No_window_or_one_as_long_as_the_rollout_scores_all_of_it_and_draws_nothing(int frames)
    {
        using var video = randn([1L, 36, 2, 1, 1]);
        var draws = new FixedDraws(0);
        var same = ScoreWindow.Take(video, frames, 3, draws);
        Assert.Same(video, same);
        Assert.Empty(draws.Asked);
    }

    [Fact]
    public void Windows_that_split_a_chunk_are_refused()
    {
        using var video = randn([1L, 36, 2, 1, 1]);
        Assert.Contains("whole chunks of 3", Assert.Throws<ArgumentException>(() => ScoreWindow.Take(video, 8, 3, new FixedDraws(0))).Message);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new DmdSettings { ScoreWindowFrames = 4 }.Validate());
        Assert.Contains("score window (4 frames)", e.Message);
    }

    [Fact]
    public void Both_phases_score_the_window_a_trainer_step_draws()
    {
        // Tiny DMD rolls out 6 frames (2 chunks); a 3-frame window scores one chunk of each rollout.
        var settings = new DmdSettings
        {
            DfakeGenUpdateRatio = 1,
            Optimizers = new AdamWSettingsPair { Generator = new AdamWSettings(1e-3, 0.0, 0.999, 0.01), Critic = new AdamWSettings(1e-3, 0.0, 0.999, 0.01) },
        };
        using var whole = new TinyDmd(settings, seed: 7);
        using var windowed = new TinyDmd(settings with { ScoreWindowFrames = 3 }, seed: 7);
        var a = whole.Step();
        var b = windowed.Step();
        Assert.True(b.GeneratorLoss is { } g && double.IsFinite(g) && double.IsFinite(b.CriticLoss));
        // Same weights, same seed: only what is scored differs, in the generator's loss and in the critic's.
        Assert.NotEqual(a.GeneratorLoss, b.GeneratorLoss);
        Assert.NotEqual(a.CriticLoss, b.CriticLoss);
    }
}
