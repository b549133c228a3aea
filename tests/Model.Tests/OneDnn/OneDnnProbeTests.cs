using SelfForcing.Model.Dit;
using SelfForcing.Model.OneDnn;
using SelfForcing.Model.Taehv;
using SelfForcing.Model.Vae;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SelfForcing.Model.Tests.OneDnn;

/// <summary>The probe's verdicts, with oneDNN on (set explicitly, so these run in the serial collection).</summary>
[Collection(OneDnnSwitchCollection.Name)]
public class OneDnnProbeTests(ITestOutputHelper output)
{
    /// <summary>The conv shapes of the real models (built on meta: no weights needed).</summary>
    private static List<ConvProbeShape> RealModelShapes()
    {
        using var dit = new CausalWanModel(WanConfig.T2V_1_3B, META);
        using var vae = new WanVae(WanVaeConfig.Wan21, META, includeEncoder: false);
        using var taehv = new TaehvDecoder(TaehvConfig.Wan21, META);
        return ConvProbeShape.Of(dit).Concat(ConvProbeShape.Of(vae)).Concat(ConvProbeShape.Of(taehv)).Distinct().ToList();
    }

    [Fact]
    public void Shapes_are_read_from_the_models()
    {
        var shapes = RealModelShapes();
        var names = shapes.Select(s => s.Name).ToList();
        Assert.Contains("conv3d 16→1536 k1x2x2 s1x2x2 p0x0x0 float32", names);  // DiT patch embedding
        Assert.Contains("conv3d 384→384 k3x3x3 s1x1x1 p0x1x1 float32", names);  // Wan VAE causal conv (time padded by the model)
        Assert.Contains("conv3d 384→768 k3x1x1 s1x1x1 p0x0x0 float32", names);  // Wan VAE time upsampling
        Assert.Contains("conv2d 384→192 k3x3 s1x1 p1x1 float32", names);        // Wan VAE spatial upsampling
        Assert.Contains("conv2d 512→256 k3x3 s1x1 p1x1 float32", names);        // TAEHV MemBlock
        Assert.Equal(names.Count, names.Distinct().Count());

        // A bfloat16 model is probed in bfloat16: oneDNN has separate kernels for it.
        using var vae16 = new WanVae(WanVaeConfig.Wan21, META, ScalarType.BFloat16, includeEncoder: false);
        Assert.Contains("conv3d 96→3 k3x3x3 s1x1x1 p0x1x1 bfloat16", ConvProbeShape.Of(vae16).Select(s => s.Name));
    }

    [Fact]
    public void Probe_passes_for_the_real_models_conv_shapes_on_this_machine()
    {
        var report = OneDnnSwitchCollection.With(true, () => OneDnnConvolutionProbe.Run(RealModelShapes()));
        output.WriteLine(report.Summary);
        foreach (var r in report.Results) output.WriteLine($"  {r.Shape.Name}: {r.RelativeError:G3}");
        Assert.True(report.Passed, report.Summary);
        // Far below the tolerance: the float32 kernels really are accurate here, the check is not barely passing.
        Assert.True(report.Worst!.RelativeError < report.Worst.Tolerance / 10, report.Summary);
    }

    [Fact]
    public void Probe_fails_when_a_result_is_wrong()
    {
        var shapes = new[] { ConvProbeShape.Conv2d(32, 16, 3, padding: 1), ConvProbeShape.Conv3d(16, 32, [3, 3, 3], padding: [0, 1, 1]) };
        Assert.True(OneDnnSwitchCollection.With(true, () => OneDnnConvolutionProbe.Run(shapes)).Passed);

        // One output element off by 1e-3 of the magnitude: small, but 10× the tolerance.
        var oneElement = OneDnnConvolutionProbe.Run(shapes, perturb: y =>
        {
            var z = y.clone();
            z.view(-1)[5] += 1e-3 * y.abs().max().item<float>();
            return z;
        });
        Assert.False(oneElement.Passed, oneElement.Summary);
        Assert.All(oneElement.Results, r => Assert.InRange(r.RelativeError, 5e-4, 2e-3));

        // A kernel that scrambles channels (the kind of failure a wrong blocked layout gives), and NaNs.
        Assert.False(OneDnnConvolutionProbe.Run(shapes, perturb: y => y.flip(1)).Passed);
        Assert.False(OneDnnConvolutionProbe.Run(shapes, perturb: y => y * float.NaN).Passed);
    }

    [Fact]
    public void A_failed_probe_turns_oneDNN_off_and_says_how_wrong_it_was()
    {
        var shapes = new[] { ConvProbeShape.Conv2d(32, 16, 3, padding: 1) };
        var (keep, line, report) = OneDnnConvolutionGuard.Decide(OneDnnMode.Probe, () => OneDnnConvolutionProbe.Run(shapes, perturb: y => y * 1.01));
        Assert.False(keep);
        Assert.Contains("off", line);
        Assert.Contains("conv2d 32→16 k3x3", line);
        Assert.InRange(report!.Worst!.RelativeError, 0.009, 0.011);
        Assert.Contains(report.Worst.RelativeError.ToString("G3"), line);

        var passed = OneDnnConvolutionGuard.Decide(OneDnnMode.Probe, () => OneDnnSwitchCollection.With(true, () => OneDnnConvolutionProbe.Run(shapes)));
        Assert.True(passed.Keep, passed.Line);
        Assert.Contains("kept", passed.Line);
    }

    [Fact]
    public void On_and_off_decide_without_probing()
    {
        OneDnnProbeReport NoProbe() => throw new InvalidOperationException("must not probe");
        Assert.True(OneDnnConvolutionGuard.Decide(OneDnnMode.On, NoProbe).Keep);
        var off = OneDnnConvolutionGuard.Decide(OneDnnMode.Off, NoProbe);
        Assert.False(off.Keep);
        Assert.Contains("SELFFORCING_ONEDNN=off", off.Line);
    }

    [Fact]
    public void Relative_error_is_measured_against_the_magnitude()
    {
        var reference = tensor(new double[] { 1000, -2000, 500 });
        Assert.Equal(0.0, OneDnnConvolutionProbe.RelativeError(reference.to(ScalarType.Float32), reference));
        Assert.Equal(1e-3, OneDnnConvolutionProbe.RelativeError(tensor(new float[] { 1000, -2002, 500 }), reference), 9);
        Assert.Equal(double.PositiveInfinity, OneDnnConvolutionProbe.RelativeError(tensor(new float[] { 1000, float.PositiveInfinity, 500 }), reference));
        Assert.Throws<ArgumentException>(() => OneDnnConvolutionProbe.RelativeError(zeros(2), reference));
    }
}
