using SelfForcing.Model.Tests.Golden;

namespace SelfForcing.Training.Tests.Golden;

/// <summary>A parity check for one training fixture kind; found by reflection, so adding a kind is adding a class.</summary>
public interface ITrainingParityCheck
{
    string Kind { get; }
    void Run(GoldenCase golden);
}
