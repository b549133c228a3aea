using SelfForcing.Model.Sampling;
using SelfForcing.Training.Objectives;
using SelfForcing.Training.Optim;
using SelfForcing.Training.DataParallel;
using SelfForcing.Training.Randomness;
using TorchSharp.Modules;
using static TorchSharp.torch;
using AdamW = SelfForcing.Training.Optim.AdamW;

namespace SelfForcing.Training.Dmd;

/// <summary>What one trainer step did (the generator phase only runs every <c>dfake_gen_update_ratio</c> steps).</summary>
public sealed record DmdStepReport(
    long Step, bool TrainedGenerator, double? GeneratorLoss, double? GeneratorGradNorm, double? DmdGradientNorm,
    double CriticLoss, double CriticGradNorm, bool EmaActive);

/// <summary>
/// The outer loop of the reference's <c>trainer/distillation.py</c> for DMD, one step at a time: on generator steps a
/// Self-Forcing rollout (gradient through the exit calls) scored by the DMD loss, then clip and AdamW (and the EMA);
/// on every step a fresh no-grad rollout trains the critic's flow loss. Each phase takes its own prompt batch. The step
/// counter counts critic updates; the EMA is created from the current weights when it reaches <c>ema_start_step</c>.
/// <para>
/// Data parallel: with follower replicas (copies of the networks on other devices), each phase splits the batch by rows
/// across the replicas, every replica computes its share's gradients (at once when their devices differ), and the
/// gradients are averaged onto the primary, weighted by share size, so the update equals one replica's on the whole batch
/// (the draws are shared through a <see cref="SharedDrawTape"/>). The primary alone clips, steps and keeps the EMA; its
/// new weights are copied to the followers. Checkpoints hold the primary only.
/// </para>
/// <para>
/// Mixed precision (<see cref="DmdSettings.MixedPrecision"/>): the replicas compute in bf16 copies and hand back float32
/// gradients; everything here — averaging, clipping, AdamW, the EMA, checkpoints — works on the float32 weights.
/// </para>
/// </summary>
public sealed class DmdTrainer : IDisposable
{
    private readonly DmdReplica _primary;
    private readonly IReadOnlyList<DmdReplica> _replicas;
    private readonly AdamW _generatorOptimizer;
    private readonly AdamW _criticOptimizer;
    private readonly ITrainingRandom _random;

    public SelfForcingRollout Rollout => _primary.Rollout;
    public ScoreNetwork RealScore => _primary.RealScore;
    public ScoreNetwork FakeScore => _primary.FakeScore;
    public DmdSettings Settings { get; }
    /// <summary>Latent shape of one sample [F, C, H, W].</summary>
    public long[] LatentShape { get; }
    public long Step { get; private set; }
    public ExponentialMovingAverage? Ema { get; private set; }
    /// <summary>Replicas, the primary first.</summary>
    public int ReplicaCount => _replicas.Count;

    public DmdTrainer(SelfForcingRollout rollout, ScoreNetwork realScore, ScoreNetwork fakeScore, long[] latentShape, DmdSettings settings,
        ITrainingRandom random)
        : this(rollout, realScore, fakeScore, latentShape, settings, random, [])
    {
    }

    /// <param name="followers">Further replicas (same architectures; any weights: the primary's are copied into them).</param>
    public DmdTrainer(SelfForcingRollout rollout, ScoreNetwork realScore, ScoreNetwork fakeScore, long[] latentShape, DmdSettings settings,
        ITrainingRandom random, IReadOnlyList<(SelfForcingRollout Rollout, ScoreNetwork RealScore, ScoreNetwork FakeScore)> followers)
    {
        if (latentShape.Length != 4) throw new ArgumentException("latent shape must be [F, C, H, W]", nameof(latentShape));
        LatentShape = latentShape;
        Settings = settings.Validate();
        _random = random;
        _primary = new DmdReplica(rollout, realScore, fakeScore, Settings);
        _replicas = [_primary, .. followers.Select(f => new DmdReplica(f.Rollout, f.RealScore, f.FakeScore, Settings))];
        _generatorOptimizer = new AdamW(_primary.GeneratorParams, settings.Optimizers.Generator);
        _criticOptimizer = new AdamW(_primary.CriticParams, settings.Optimizers.Critic);
        SyncReplicas(teacher: true);
    }

    /// <param name="generatorPrompts">[B, text_len, text_dim] for the generator phase (ignored on critic-only steps).</param>
    /// <param name="criticPrompts">[B, text_len, text_dim] for the critic phase.</param>
    /// <param name="negativePrompts">[B, text_len, text_dim] the negative prompt's embeddings (the teacher's unconditional branch).</param>
    public DmdStepReport TrainStep(Tensor generatorPrompts, Tensor criticPrompts, Tensor negativePrompts)
    {
        bool trainGenerator = Step % Settings.DfakeGenUpdateRatio == 0;
        double? genLoss = null, genNorm = null, dmdNorm = null;
        if (trainGenerator)
        {
            using var scope = NewDisposeScope();
            foreach (var r in _replicas) DmdReplica.ZeroGrad(r.GeneratorParams);
            var parts = RunShares(generatorPrompts, (r, rows, random) =>
            {
                var (loss, norm) = r.GeneratorGradients(rows(generatorPrompts), rows(negativePrompts), LatentShape, random);
                return [loss, norm];
            });
            AverageGradients(r => r.GeneratorParams, parts);
            genNorm = GradientClipping.ClipGradNorm(_primary.GeneratorParams.Select(p => (Tensor)p.Param), Settings.MaxGradNormGenerator);
            _generatorOptimizer.Step();
            Ema?.Update(_primary.GeneratorParams);
            CopyToFollowers(r => r.GeneratorParams);
            genLoss = Weighted(parts, 0);
            dmdNorm = Weighted(parts, 1);
        }

        double criticLoss, criticNorm;
        using (var scope = NewDisposeScope())
        {
            foreach (var r in _replicas) DmdReplica.ZeroGrad(r.CriticParams);
            var parts = RunShares(criticPrompts, (r, rows, random) => [r.CriticGradients(rows(criticPrompts), LatentShape, random)]);
            AverageGradients(r => r.CriticParams, parts);
            criticNorm = GradientClipping.ClipGradNorm(_primary.CriticParams.Select(p => (Tensor)p.Param), Settings.MaxGradNormCritic);
            _criticOptimizer.Step();
            CopyToFollowers(r => r.CriticParams);
            criticLoss = Weighted(parts, 0);
        }

        Step++;
        if (Step >= Settings.EmaStartStep && Ema is null && Settings.EmaWeight > 0)
            Ema = new ExponentialMovingAverage(_primary.GeneratorParams, Settings.EmaWeight);
        return new DmdStepReport(Step, trainGenerator, genLoss, genNorm, dmdNorm, criticLoss, criticNorm, Ema is not null);
    }

    /// <summary>A replica's share of a phase: its rows of the batch (moved to its device) and its values to report.</summary>
    private sealed record Share(DmdReplica Replica, long Rows, double[] Values);

    /// <summary>
    /// Runs one phase on every replica's rows. One replica: the whole batch with the trainer's random source itself (so a
    /// single-device run draws exactly as before). Several: rows split as evenly as possible, draws through one tape.
    /// </summary>
    private List<Share> RunShares(Tensor prompts, Func<DmdReplica, Func<Tensor, Tensor>, ITrainingRandom, double[]> phase)
    {
        long batch = prompts.shape[0];
        if (_replicas.Count == 1) return [new Share(_primary, batch, phase(_primary, t => t, _random))];
        if (batch < _replicas.Count)
            throw new ArgumentException($"a batch of {batch} cannot be split across {_replicas.Count} replicas (batch_size is per device)");
        using var tape = new SharedDrawTape(_random, batch);
        var shares = new Share[_replicas.Count];
        long offset = 0;
        var jobs = new List<Action>();
        for (int i = 0; i < _replicas.Count; i++)
        {
            long rows = batch / _replicas.Count + (i < batch % _replicas.Count ? 1 : 0), start = offset;
            var replica = _replicas[i];
            var random = tape.For(start, rows);
            int slot = i;
            jobs.Add(() =>
            {
                using var scope = NewDisposeScope();
                shares[slot] = new Share(replica, rows, phase(replica, t => t.narrow(0, start, rows).to(replica.Device), random));
            });
            offset += rows;
        }
        // Replicas on distinct devices run at once (one thread each: dispose scopes are per thread); replicas sharing a
        // device would only contend for it, so they take turns.
        bool distinct = _replicas.Select(r => r.Device.ToString()).Distinct().Count() == _replicas.Count;
        if (distinct) Parallel.Invoke(jobs.ToArray());
        else foreach (var job in jobs) job();
        return [.. shares];
    }

    /// <summary>Primary's gradient := Σ_r (rows_r / batch) · gradient_r: the gradient of the whole batch's mean loss.</summary>
    private void AverageGradients(Func<DmdReplica, IReadOnlyList<(string Name, TorchSharp.Modules.Parameter Param)>> group, List<Share> shares)
    {
        if (shares.Count == 1) return;
        using var noGrad = no_grad();
        double batch = shares.Sum(s => s.Rows);
        var primary = group(_primary);
        for (int i = 0; i < primary.Count; i++)
        {
            using var scope = NewDisposeScope();
            Tensor? sum = null;
            foreach (var s in shares)
            {
                var g = group(s.Replica)[i].Param.grad;
                if (g is null) continue;
                var part = g.to(primary[i].Param.device).mul(s.Rows / batch);
                sum = sum is null ? part : sum.add_(part);
            }
            if (sum is null) continue;
            primary[i].Param.grad?.Dispose();
            primary[i].Param.grad = sum.MoveToOuterDisposeScope();
        }
    }

    private static double Weighted(List<Share> shares, int index) =>
        shares.Sum(s => s.Values[index] * s.Rows) / shares.Sum(s => s.Rows);

    private void CopyToFollowers(Func<DmdReplica, IReadOnlyList<(string Name, TorchSharp.Modules.Parameter Param)>> group)
    {
        using var noGrad = no_grad();
        var source = group(_primary);
        foreach (var follower in _replicas.Skip(1))
        {
            var target = group(follower);
            for (int i = 0; i < source.Count; i++) target[i].Param.copy_(source[i].Param);
        }
    }

    /// <summary>Makes every follower's weights the primary's (after construction and after a restore).</summary>
    private void SyncReplicas(bool teacher)
    {
        CopyToFollowers(r => r.GeneratorParams);
        CopyToFollowers(r => r.CriticParams);
        if (!teacher) return;
        using var noGrad = no_grad();
        var source = _primary.RealScore.Model.parameters().ToList();
        foreach (var follower in _replicas.Skip(1))
        {
            var target = follower.RealScore.Model.parameters().ToList();
            if (target.Count != source.Count) throw new ArgumentException("a follower's teacher differs from the primary's");
            for (int i = 0; i < source.Count; i++) target[i].copy_(source[i]);
            follower.PullTeacher();
        }
    }

    /// <summary>
    /// What a resumed run needs beyond the weights, as named tensors: both optimisers' moments and step counts
    /// (<c>generator_optimizer.*</c>, <c>critic_optimizer.*</c>), the EMA shadow (<c>ema.*</c>), the step counter
    /// (<c>step</c>) and the random source's position (<c>random</c>). Tensors are live or fresh; the caller saves them
    /// inside a dispose scope.
    /// </summary>
    public IEnumerable<KeyValuePair<string, Tensor>> ExportResumeState()
    {
        var random = _random as IResumableTrainingRandom
            ?? throw new InvalidOperationException($"the training random source ({_random.GetType().Name}) cannot save its state");
        foreach (var (k, t) in _generatorOptimizer.ExportState()) yield return new($"generator_optimizer.{k}", t);
        foreach (var (k, t) in _criticOptimizer.ExportState()) yield return new($"critic_optimizer.{k}", t);
        if (Ema is not null)
            foreach (var (k, t) in Ema.Shadow) yield return new($"ema.{k}", t);
        yield return new("step", tensor(Step));
        yield return new("random", random.SaveState());
    }

    /// <summary>Restores what <see cref="ExportResumeState"/> wrote (the weights are restored separately).</summary>
    public void RestoreResumeState(IReadOnlyDictionary<string, Tensor> state)
    {
        var random = _random as IResumableTrainingRandom
            ?? throw new InvalidOperationException($"the training random source ({_random.GetType().Name}) cannot restore a state");
        Dictionary<string, Tensor> Group(string prefix) => state.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value, StringComparer.Ordinal);
        if (!state.TryGetValue("step", out var step) || !state.TryGetValue("random", out var rng))
            throw new ArgumentException("trainer state lacks 'step' or 'random'");
        _generatorOptimizer.ImportState(Group("generator_optimizer."));
        _criticOptimizer.ImportState(Group("critic_optimizer."));
        var shadow = Group("ema.");
        Ema?.Dispose();
        Ema = shadow.Count > 0 ? ExponentialMovingAverage.FromShadow(shadow, Settings.EmaWeight) : null;
        Step = step.to(ScalarType.Int64).item<long>();
        random.RestoreState(rng);
        SyncReplicas(teacher: false); // the weights were restored into the primary just before
    }

    public void Dispose()
    {
        foreach (var r in _replicas) r.Dispose();
        _generatorOptimizer.Dispose();
        _criticOptimizer.Dispose();
        Ema?.Dispose();
    }
}
