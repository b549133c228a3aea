using System.CommandLine;
using SelfForcing.Hosting.Output;

namespace SelfForcing.Hosting.Commands;

/// <summary>The options that choose the model and its weights, the same for every verb that runs the pipeline.</summary>
public sealed class WeightCliOptions
{
    public Option<string?> WanDir { get; } = new("--wan-dir") { Description = "Wan2.1-T2V-1.3B folder (config, DiT, UMT5, VAE, tokenizer); omit for the tiny world model (or --model tiny-random)" };
    public Option<string?> Checkpoint { get; } = new("--checkpoint") { Description = "self_forcing_dmd.pt; without --wan-dir, a tiny model.pt written by selfforcing train" };
    public Option<string> Model { get; } = new("--model")
    {
        Description = "without --wan-dir and --checkpoint: world (the shipped tiny-world model) or tiny-random (noise by design)",
        DefaultValueFactory = _ => WeightOptions.World,
    };
    public Option<bool> UseEma { get; } = new("--use-ema") { Description = "load generator_ema instead of generator" };
    public Option<string> DType { get; } = new("--dtype") { Description = GeneratorDType.Help, DefaultValueFactory = _ => "auto" };
    public Option<string?> Taehv { get; } = new("--taehv") { Description = "taew2_1.pth: enables decoder taehv (needs --wan-dir)" };
    public Option<int?> LocalAttnSize { get; } = new("--local-attn-size")
    {
        Description = "every stream rolls with this window in latent frames (default: global attention, and the HOCON selfforcing.rolling cache for streams longer than 21 frames)",
    };
    public Option<int?> SinkSize { get; } = new("--sink-size") { Description = "latent frames the --local-attn-size window keeps forever (default 0)" };
    public Option<bool> UnloadTextEncoder { get; } = new("--unload-text-encoder")
    {
        Description = "low memory: unload the text encoder (11 GB) after each new prompt, reload it for the next (HOCON selfforcing.text-encoder.unload-after-use)",
    };

    public void AddTo(Command command)
    {
        foreach (Option o in new Option[] { WanDir, Model, Checkpoint, UseEma, DType, Taehv, LocalAttnSize, SinkSize, UnloadTextEncoder }) command.Options.Add(o);
    }

    public WeightOptions Read(ParseResult parse) => new(parse.GetValue(WanDir), parse.GetValue(Checkpoint), parse.GetValue(UseEma), parse.GetValue(DType)!,
        parse.GetValue(LocalAttnSize), parse.GetValue(SinkSize), parse.GetValue(Taehv)) { Model = parse.GetValue(Model)! };
}
