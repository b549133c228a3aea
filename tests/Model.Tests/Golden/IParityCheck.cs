namespace SelfForcing.Model.Tests.Golden;

/// <summary>
/// A parity check for one fixture kind. Implementations are found by reflection, so adding a kind is adding
/// a class; a fixture whose kind has no check fails (it is never skipped).
/// </summary>
public interface IParityCheck
{
    string Kind { get; }
    void Run(GoldenCase golden);
}
