// Run: dotnet build benchmarks/bf16check -c Release, then with LD_LIBRARY_PATH=src/Hosting/bin/Release/net10.0/runtimes/linux-x64/native
// SELFFORCING_ONEDNN=on|off dotnet benchmarks/bf16check/bin/Release/net10.0/bf16check.dll (the README quotes its RESULT lines).
using SelfForcing.Model.Dit;
using TorchSharp;
using static TorchSharp.torch;

// bf16 vs fp32 DiT forward on identical weights and inputs: relative error, oneDNN as SELFFORCING_ONEDNN says.
set_num_threads(1);
var cfg = WanConfig.T2V_1_3B with { Dim = 768, FfnDim = 3072, NumHeads = 6, NumLayers = 12 };
int h = 16, w = 16, f = cfg.NumFramePerBlock;
using var noGrad = no_grad();
using var m32 = new CausalWanModel(cfg, CPU, ScalarType.Float32, WeightInit.Uninitialised);
m32.InitializeRandom(seed: 0);
m32.eval();
using var m16 = new CausalWanModel(cfg, CPU, ScalarType.BFloat16, WeightInit.Uninitialised);
var p32 = m32.named_parameters().ToDictionary(p => p.name, p => p.parameter);
foreach (var (name, p) in m16.named_parameters()) p.copy_(p32[name]);
m16.eval();
var g = new Generator(5);
var x = randn([1, cfg.InDim, f, h, w], generator: g);
var ctx = randn([1, cfg.TextLen, cfg.TextDim], generator: g);
var t = full([1, f], 750.0, ScalarType.Float32);
using var c32 = m32.CreateCache(1, 2 * f, h, w, CPU, ScalarType.Float32);
using var c16 = m16.CreateCache(1, 2 * f, h, w, CPU, ScalarType.BFloat16);
var y32 = m32.Forward(x, t, ctx, c32, 0);
var y16 = m16.Forward(x.to(ScalarType.BFloat16), t, ctx.to(ScalarType.BFloat16), c16, 0).to(ScalarType.Float32);
double rel = ((y16 - y32).norm() / y32.norm()).item<float>();
// The error of rounding the fp32 output itself to bf16, for scale.
double round = ((y32.to(ScalarType.BFloat16).to(ScalarType.Float32) - y32).norm() / y32.norm()).item<float>();
Console.WriteLine($"RESULT onednn={Environment.GetEnvironmentVariable("SELFFORCING_ONEDNN") ?? "probe"} rel_err_bf16_vs_fp32={rel:E3} bf16_rounding_of_output={round:E3} finite={y16.isfinite().all().item<bool>()}");
