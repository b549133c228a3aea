using SelfForcing.Training.Objectives;
using SelfForcing.Training.Randomness;
using static TorchSharp.torch;

namespace SelfForcing.Training.DataParallel;

/// <summary>
/// The random draws of one training phase for the whole batch, shared by the data-parallel replicas: the i-th draw of any
/// replica is the i-th draw of the master source made at full-batch size, and the replica gets its own rows. So N replicas
/// on N shares see exactly the draws one replica on the whole batch would, whichever replica asks first (thread-safe).
/// Every per-sample draw is batch-major (its first dimension is the share's batch times a factor: [b, F, …] or
/// [b·3, C, H, W]); the exit-step draw (<see cref="SelfForcingRollout.ExitStepsRole"/>) is a shared decision, given whole.
/// </summary>
public sealed class SharedDrawTape(ITrainingRandom master, long batch) : IDisposable
{
    private readonly ITrainingRandom _master = master;
    private readonly long _batch = batch;
    private readonly List<(string Role, Tensor Full)> _draws = [];
    private readonly Lock _lock = new();

    /// <summary>The random source of the replica that holds rows [offset, offset + count) of the batch.</summary>
    public ITrainingRandom For(long offset, long count)
    {
        if (count < 1 || offset < 0 || offset + count > _batch) throw new ArgumentOutOfRangeException(nameof(count), $"rows [{offset}, {offset + count}) of a batch of {_batch}");
        return new Share(this, offset, count);
    }

    private Tensor Draw(int index, string role, long[] fullShape, Func<Tensor> draw)
    {
        lock (_lock)
        {
            if (index == _draws.Count)
            {
                // The tape owns its draws: out of every dispose scope (a replica's scope ends before the others have read them).
                using var scope = NewDisposeScope();
                _draws.Add((role, draw().DetachFromDisposeScope()));
            }
            var (r, full) = _draws[index];
            if (r != role || !full.shape.SequenceEqual(fullShape))
                throw new InvalidOperationException($"replicas diverged at draw {index}: '{role}' [{string.Join(", ", fullShape)}] vs '{r}' [{string.Join(", ", full.shape)}]");
            return full;
        }
    }

    public void Dispose()
    {
        foreach (var (_, t) in _draws) t.Dispose();
        _draws.Clear();
    }

    private sealed class Share(SharedDrawTape tape, long offset, long count) : ITrainingRandom
    {
        private int _next;

        public Tensor RandInt(long low, long high, long[] shape, string role)
        {
            if (role is SelfForcingRollout.ExitStepsRole or Dmd.ScoreWindow.Role)
                return tape.Draw(_next++, role, shape, () => tape._master.RandInt(low, high, shape, role)).clone();
            var (full, k) = FullShape(shape, role);
            return Rows(tape.Draw(_next++, role, full, () => tape._master.RandInt(low, high, full, role)), k);
        }

        public Tensor Randn(long[] shape, ScalarType dtype, Device device, string role)
        {
            var (full, k) = FullShape(shape, role);
            return Rows(tape.Draw(_next++, role, full, () => tape._master.Randn(full, dtype, CPU, role)), k).to(dtype, device);
        }

        private (long[] Full, long Factor) FullShape(long[] shape, string role)
        {
            if (shape.Length == 0 || shape[0] % count != 0)
                throw new InvalidOperationException($"draw '{role}' [{string.Join(", ", shape)}] is not batch-major for a share of {count}");
            long k = shape[0] / count;
            return ([tape._batch * k, .. shape[1..]], k);
        }

        private Tensor Rows(Tensor full, long k) => full.narrow(0, offset * k, count * k).clone();
    }
}
