using System.Runtime.CompilerServices;

namespace SelfForcing.Model.Tests.Runtime;

internal static class HugePagesAtLoad
{
    // libtorch reads its huge-page switch at its first allocation; a test may allocate before touching the Model
    // assembly (whose own initializer sets it), so this assembly asks first, as the CLI's Main does.
#pragma warning disable CA2255
    [ModuleInitializer]
    internal static void Request() => NativeHeap.RequestHugePages();
#pragma warning restore CA2255
}
