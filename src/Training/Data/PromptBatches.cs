namespace SelfForcing.Training.Data;

/// <summary>
/// Which prompts each phase trains on. As in the reference (a <c>DistributedSampler</c> with shuffle on and
/// <c>set_epoch</c> never called), every pass over the file uses the same seeded permutation; each phase takes the next
/// batch of it, wrapping into the next pass. A batch's position follows from the step counter alone, so a resumed run
/// continues with the prompts an unbroken one would have used.
/// </summary>
public sealed class PromptBatches
{
    private readonly int[] _order;
    private readonly int _batch;
    private readonly int _ratio;

    public PromptBatches(int promptCount, int batchSize, int dfakeGenUpdateRatio, long seed)
    {
        if (promptCount < 1) throw new ArgumentOutOfRangeException(nameof(promptCount), "no prompts");
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), "batch size must be at least 1");
        _batch = batchSize;
        _ratio = dfakeGenUpdateRatio;
        _order = Enumerable.Range(0, promptCount).ToArray();
        new Random(unchecked((int)seed ^ (int)(seed >> 32))).Shuffle(_order);
    }

    /// <summary>Prompt indices of the generator phase of <paramref name="step"/> (call only on generator steps).</summary>
    public int[] Generator(long step) => Take(BatchesBefore(step));

    /// <summary>Prompt indices of the critic phase of <paramref name="step"/> (after that step's generator batch, if any).</summary>
    public int[] Critic(long step) => Take(BatchesBefore(step) + (step % _ratio == 0 ? 1 : 0));

    /// <summary>Batches consumed by steps 0..step−1: one critic batch each, one generator batch every ratio-th step.</summary>
    private long BatchesBefore(long step) => step + (step + _ratio - 1) / _ratio;

    private int[] Take(long batchIndex)
    {
        var result = new int[_batch];
        for (int i = 0; i < _batch; i++) result[i] = _order[(int)((batchIndex * _batch + i) % _order.Length)];
        return result;
    }
}
