using SelfForcing.Model.Sampling;
using SelfForcing.Training.Randomness;
using static TorchSharp.torch;

namespace SelfForcing.Training.Objectives;

/// <summary>The critic's denoising loss and its intermediates.</summary>
public sealed record DmdCriticLossResult(Tensor Loss, Tensor Timestep, Tensor NoisyLatents, ScorePrediction Fake, Tensor FlowPred);

/// <summary>
/// Denoising (flow) loss of the fake score (reference <c>DMD.critic_loss</c> with <c>denoising_loss_type: flow</c>): the
/// generated latents (no gradient) are noised on the generator's grid, the critic predicts x0 WITH gradient (its own
/// shift-8 grid), x0 is turned back into a flow through the generator's σ (shift 5, float64), and the loss is
/// mean((flow − (ε − x))²).
/// </summary>
public sealed class DmdCriticLoss
{
    public ScoreNetwork FakeScore { get; }
    public FlowMatchScheduler Scheduler { get; }
    public double TimestepShift { get; init; } = 5.0;
    public double MinStep { get; init; } = 20;
    public double MaxStep { get; init; } = 980;
    public long MinScoreTimestep { get; init; }

    public DmdCriticLoss(ScoreNetwork fakeScore, FlowMatchScheduler scheduler)
    {
        FakeScore = fakeScore; Scheduler = scheduler;
    }

    /// <param name="latents">[B, F, C, H, W] generator output; treated as data (detached).</param>
    public DmdCriticLossResult Compute(Tensor latents, Tensor promptEmbeds, ITrainingRandom random)
    {
        using var scope = NewDisposeScope();
        var x = latents.detach();
        long b = x.shape[0], f = x.shape[1];
        Tensor timestep, noise, noisy;
        using (no_grad())
        {
            timestep = ScoreTimesteps.Draw(random, b, f, TimestepShift, MinScoreTimestep, MinStep, MaxStep).to(x.device);
            noise = random.Randn(x.shape, x.dtype, x.device, "critic noise");
            noisy = Scheduler.AddNoise(x.flatten(0, 1), noise.flatten(0, 1), timestep.flatten()).unflatten(0, [b, f]);
        }
        var fake = FakeScore.Predict(noisy, promptEmbeds, timestep);
        var flowPred = Scheduler.X0ToFlow(fake.X0.flatten(0, 1), noisy.flatten(0, 1), timestep.flatten()).unflatten(0, [b, f]);
        var loss = (flowPred - (noise - x)).square().mean();
        var result = new DmdCriticLossResult(loss, timestep, noisy, fake, flowPred);
        foreach (var t in new[] { loss, timestep, noisy, fake.Flow, fake.X0, flowPred }) t.MoveToOuterDisposeScope();
        return result;
    }
}
