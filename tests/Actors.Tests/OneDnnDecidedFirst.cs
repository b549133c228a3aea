using System.Runtime.CompilerServices;
using SelfForcing.Model;
using SelfForcing.Model.Dit;
using SelfForcing.Model.Taehv;
using SelfForcing.Model.Vae;
using static TorchSharp.torch;

namespace SelfForcing.Actors.Tests;

/// <summary>
/// Probes the conv shapes of the models these tests build before any test runs. A failed probe turns oneDNN off for
/// the whole process; decided here, it cannot switch kernels between two halves of a bitwise comparison in a test
/// running in parallel.
/// </summary>
internal static class OneDnnDecidedFirst
{
#pragma warning disable CA2255 // a module initializer is the one hook that runs before xunit starts any test
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Probe()
    {
        using var dit = new CausalWanModel(WanConfig.Tiny, META);
        using var vae = new WanVae(WanVaeConfig.Wan21 with { Dim = 8, DimMult = [1, 2, 2, 2], NumResBlocks = 1 }, META, includeEncoder: false);
        using var taehv = new TaehvDecoder(TaehvConfig.Wan21 with { NF = [16, 8, 8, 8] }, META);
        foreach (var model in new nn.Module[] { dit, vae, taehv }) OneDnnConvolutionGuard.Apply(model);
    }
}
