using static TorchSharp.torch;

namespace SelfForcing.Training.Tests.Recipe;

/// <summary>Runs tiny-model work on one intra-op thread and restores the previous count (process-wide while it lasts).</summary>
internal sealed class OneThread : IDisposable
{
    private readonly int _previous = get_num_threads();

    private OneThread() => set_num_threads(1);

    public static OneThread Scope() => new();

    public void Dispose() => set_num_threads(_previous);
}
