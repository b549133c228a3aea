using System.CommandLine;
using SelfForcing.Actors;
using SelfForcing.Hosting.Commands;
using SelfForcing.Hosting.Output;
using static TorchSharp.torch;

namespace SelfForcing.Hosting.Tests;

/// <summary>Command-line choices that reach the engines: the generator dtype per device and the text-encoder unload setting.</summary>
public class GenerateSettingsTests
{
    private static GenerateCommand.GenerateOptions Options(bool unload) =>
        new(["x"], 0, "out", 1, 16, new WeightOptions(null, null, false, "auto", -1, 0) { Model = WeightOptions.TinyRandom }, null, null, 8, 8, UnloadTextEncoder: unload);

    [Theory]
    [InlineData("auto", ScalarType.Float32)] // measured: bfloat16 2-6x slower on CPU (benchmarks/dtype-cpu-20261127.txt)
    [InlineData("bf16", ScalarType.BFloat16)]
    [InlineData("float16", ScalarType.Float16)]
    [InlineData(" FLOAT32 ", ScalarType.Float32)]
    public void Dtype_auto_is_float32_on_cpu(string name, ScalarType expected) => Assert.Equal(expected, GeneratorDType.Resolve(name, CPU));

    [Fact]
    public void Dtype_auto_is_bfloat16_on_cuda_and_unknown_names_fail()
    {
        Assert.Equal(ScalarType.BFloat16, GeneratorDType.Resolve("auto", new Device(TorchSharp.DeviceType.CUDA, 0)));
        Assert.Contains("auto", Assert.Throws<ArgumentException>(() => GeneratorDType.Resolve("int8", CPU)).Message);
    }

    [Fact]
    public void Help_states_the_dtype_default_per_device_and_the_unload_option()
    {
        var generate = GenerateCommand.Create();
        var dtype = generate.Options.Single(o => o.Name == "--dtype");
        Assert.Contains("auto (float32 on CPU, bfloat16 on CUDA", dtype.Description);
        var result = generate.Parse(["-p", "x"]);
        Assert.Equal("auto", result.GetValue<string>("--dtype"));
        Assert.Contains(generate.Options, o => o.Name == "--unload-text-encoder");
    }

    [Theory]
    [InlineData(false, "", false)]
    [InlineData(true, "", true)]
    [InlineData(false, "selfforcing.text-encoder.unload-after-use = on", true)]
    public void Unload_text_encoder_comes_from_the_flag_or_hocon(bool flag, string hocon, bool expected)
    {
        var config = Akka.Configuration.ConfigurationFactory.ParseString(hocon).WithFallback(PipelineHocon.Default);
        var settings = GenerateCommand.Settings(Options(flag), config);
        Assert.Equal(expected, settings.UnloadTextEncoderAfterUse);
        Assert.Equal(expected, EngineFactory.TextOptions(settings).UnloadAfterEncode);
    }
}
