using System.CommandLine;
using SelfForcing.Hosting.Training;

namespace SelfForcing.Hosting.Commands;

/// <summary><c>selfforcing train</c>: DMD training of tiny random models (the loop, checkpoints and resume; no real weights).</summary>
public static class TrainCommand
{
    public static Command Create(TextWriter? stdout = null, TextWriter? stderr = null)
    {
        var steps = new Option<int>("--steps") { Description = "trainer steps to run in this invocation", DefaultValueFactory = _ => 10 };
        var outDir = new Option<string>("--out") { Description = "folder for checkpoint_model_NNNNNN/ and metrics.jsonl", DefaultValueFactory = _ => "train-out" };
        var resume = new Option<string?>("--resume") { Description = "a checkpoint_model_NNNNNN folder to continue from (same --seed)" };
        var seed = new Option<long>("--seed") { Description = "seed of the weights, prompts and training draws", DefaultValueFactory = _ => 0 };
        var saveEvery = new Option<int>("--save-every") { Description = "checkpoint interval in steps (log_iters); the last step is always saved", DefaultValueFactory = _ => 50 };
        var cmd = new Command("train", "DMD-train tiny random models on the CPU, with reference-layout checkpoints and exact resume.")
        {
            steps, outDir, resume, seed, saveEvery,
        };
        TrainRecipeCommands.AddTo(cmd, stdout, stderr);
        cmd.SetAction(parse =>
        {
            var output = stdout ?? Console.Out;
            try
            {
                TinyDmdRun.Run(new TrainOptions(parse.GetValue(steps), parse.GetValue(outDir)!, parse.GetValue(resume), parse.GetValue(seed),
                    parse.GetValue(saveEvery)), output);
                return 0;
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException)
            {
                (stderr ?? Console.Error).WriteLine($"error: {e.Message}");
                return 1;
            }
        });
        return cmd;
    }
}
