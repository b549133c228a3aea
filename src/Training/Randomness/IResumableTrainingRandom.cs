using static TorchSharp.torch;

namespace SelfForcing.Training.Randomness;

/// <summary>A training random source whose position can be saved and restored, so a resumed run draws what an unbroken one would.</summary>
public interface IResumableTrainingRandom : ITrainingRandom
{
    /// <summary>The generator state as a uint8 tensor (a copy).</summary>
    Tensor SaveState();

    void RestoreState(Tensor state);
}
