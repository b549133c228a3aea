using SelfForcing.Model.Sampling;
using SelfForcing.Training.Randomness;
using static TorchSharp.torch;

namespace SelfForcing.Training.Objectives;

/// <summary>The DMD generator loss and everything it computed along the way (for logging and parity checks).</summary>
public sealed record DmdGeneratorLossResult(
    Tensor Loss, Tensor Timestep, Tensor NoisyLatents, ScorePrediction Fake, Tensor RealCondX0, Tensor RealUncondX0,
    Tensor RealX0, Tensor Normalizer, Tensor DmdGrad, Tensor DmdGradientNorm);

/// <summary>
/// Distribution-matching loss of the generator (reference <c>model/dmd.py</c> <c>DMD.generator_loss</c>). The score
/// networks run without gradient: the critic (conditional only) and the teacher with classifier-free guidance
/// <c>cond + s·(cond − uncond)</c>. The direction g = (fake − real)/mean|x − real| (per sample) becomes the float64 loss
/// 0.5·mean((x − stopgrad(x − g))²), whose gradient at x is g/numel; it reaches the generator only through x.
/// </summary>
public sealed class DmdGeneratorLoss
{
    public ScoreNetwork RealScore { get; }
    public ScoreNetwork FakeScore { get; }
    /// <summary>The generator's scheduler (shift 5): noising uses its grid.</summary>
    public FlowMatchScheduler Scheduler { get; }
    public double RealGuidanceScale { get; init; } = 3.0;
    public double TimestepShift { get; init; } = 5.0;
    public double MinStep { get; init; } = 20;
    public double MaxStep { get; init; } = 980;
    public long MinScoreTimestep { get; init; }

    public DmdGeneratorLoss(ScoreNetwork realScore, ScoreNetwork fakeScore, FlowMatchScheduler scheduler)
    {
        RealScore = realScore; FakeScore = fakeScore; Scheduler = scheduler;
    }

    /// <param name="latents">[B, F, C, H, W] generator output (carries the generator's graph).</param>
    /// <param name="promptEmbeds">[B, text_len, text_dim] conditional text.</param>
    /// <param name="negativePromptEmbeds">[B, text_len, text_dim] the negative prompt (unconditional branch).</param>
    public DmdGeneratorLossResult Compute(Tensor latents, Tensor promptEmbeds, Tensor negativePromptEmbeds, ITrainingRandom random)
    {
        using var scope = NewDisposeScope();
        long b = latents.shape[0], f = latents.shape[1];
        Tensor timestep, noisy, realCond, realUncond, realX0, normalizer, grad, gradNorm;
        ScorePrediction fake;
        using (no_grad())
        {
            timestep = ScoreTimesteps.Draw(random, b, f, TimestepShift, MinScoreTimestep, MinStep, MaxStep).to(latents.device);
            var x = latents.detach();
            var noise = random.Randn(x.shape, x.dtype, x.device, "DMD score noise");
            noisy = Scheduler.AddNoise(x.flatten(0, 1), noise.flatten(0, 1), timestep.flatten()).unflatten(0, [b, f]);
            fake = FakeScore.Predict(noisy, promptEmbeds, timestep);
            realCond = RealScore.Predict(noisy, promptEmbeds, timestep).X0;
            realUncond = RealScore.Predict(noisy, negativePromptEmbeds, timestep).X0;
            realX0 = realCond + (realCond - realUncond) * RealGuidanceScale;
            normalizer = (x - realX0).abs().mean([1, 2, 3, 4], keepdim: true);
            grad = nan_to_num((fake.X0 - realX0) / normalizer);
            gradNorm = grad.abs().mean();
        }
        var x64 = latents.to(ScalarType.Float64);
        var target = (x64 - grad.to(ScalarType.Float64)).detach();
        var loss = 0.5 * nn.functional.mse_loss(x64, target);
        var result = new DmdGeneratorLossResult(loss, timestep, noisy, fake, realCond, realUncond, realX0, normalizer, grad, gradNorm);
        foreach (var t in new[] { loss, timestep, noisy, fake.Flow, fake.X0, realCond, realUncond, realX0, normalizer, grad, gradNorm })
            t.MoveToOuterDisposeScope();
        return result;
    }
}
