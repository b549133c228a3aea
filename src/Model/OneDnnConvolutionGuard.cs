using SelfForcing.Model.OneDnn;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Model;

/// <summary>
/// Decides whether libtorch may run float32 CPU convolutions through oneDNN (mkldnn). oneDNN is 1.5–2.5× faster than
/// the native kernels and does not allocate their im2col/vol2col buffer (9×/27× the input), but some of its kernels
/// are wrong on some CPUs (on AMD EPYC Zen 5, 3×3 convs with more than 16 input channels that are not a multiple of
/// 16: see the README's Troubleshooting). By default (<c>SELFFORCING_ONEDNN=probe</c>) every CPU model, when built, has
/// its conv shapes not seen before checked against float64 (<see cref="OneDnnConvolutionProbe"/>), and oneDNN is
/// turned off for the process if one is wrong; <c>on</c> keeps it unchecked, <c>off</c> turns it off. Each decision
/// is logged as one line. libtorch's switch is process-wide: build every model before running any, so that a failed
/// probe cannot change the kernels under a model that is already decoding.
/// </summary>
public static class OneDnnConvolutionGuard
{
    private static readonly object Gate = new();
    private static readonly HashSet<ConvProbeShape> Probed = [];
    private static OneDnnMode? _mode;
    private static bool _decided;

    /// <summary>Where the one-line decisions go; stderr unless the host routes them (set before building models).</summary>
    public static Action<string> Log { get; set; } = line => Console.Error.WriteLine(line);

    /// <summary>True once oneDNN has been turned off for the process (by <c>off</c> or a failed probe).</summary>
    public static bool Disabled { get; private set; }

    /// <summary>The most recent probe, or null if none ran.</summary>
    public static OneDnnProbeReport? LastReport { get; private set; }

    /// <summary>
    /// The decision for <paramref name="mode"/>: whether to keep oneDNN and the line that says why.
    /// <paramref name="probe"/> runs only in <see cref="OneDnnMode.Probe"/>.
    /// </summary>
    public static (bool Keep, string Line, OneDnnProbeReport? Report) Decide(OneDnnMode mode, Func<OneDnnProbeReport> probe)
    {
        switch (mode)
        {
            case OneDnnMode.On: return (true, $"oneDNN convolutions kept without a check ({OneDnnSetting.Variable}=on)", null);
            case OneDnnMode.Off: return (false, $"oneDNN convolutions off ({OneDnnSetting.Variable}=off)", null);
        }
        var report = probe();
        return report.Passed
            ? (true, $"oneDNN convolutions kept: {report.Summary}", report)
            : (false, $"oneDNN convolutions off: a result differs from float64, {report.Summary}", report);
    }

    /// <summary>Applies the setting for a CPU model, probing those of its conv shapes not probed before.</summary>
    public static void Apply(nn.Module model)
    {
        lock (Gate)
        {
            _mode ??= OneDnnSetting.FromEnvironment();
            if (Disabled || (_mode != OneDnnMode.Probe && _decided)) return;
            var shapes = _mode == OneDnnMode.Probe ? ConvProbeShape.Of(model).Where(s => !Probed.Contains(s)).ToList() : [];
            if (_mode == OneDnnMode.Probe && shapes.Count == 0) return;
            if (LibTorchMkldnnSwitch.Enabled != true) return; // not reachable, or turned off by the host: nothing to decide
            _decided = true;
            var (keep, line, report) = Decide(_mode.Value, () => OneDnnConvolutionProbe.Run(shapes));
            LastReport = report ?? LastReport;
            Probed.UnionWith(shapes);
            if (!keep)
            {
                Disabled = LibTorchMkldnnSwitch.TrySet(false);
                if (!Disabled) line += "; but libtorch's switch is not reachable here, oneDNN stays on";
            }
            Log(line);
        }
    }
}
