namespace SelfForcing.Hosting.Tests.Serving;

/// <summary>Tests that measure the whole process (memory) run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "Serial (whole-process measurements)";
}
