using System.CommandLine;
using SelfForcing.Model.Checkpoints;
using TorchSharp;

namespace SelfForcing.Hosting.Commands;

/// <summary><c>selfforcing inspect FILE</c>: every tensor's name, dtype and shape, then totals; a bad file is one line on stderr and exit code 1.</summary>
public static class InspectCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "a .safetensors file, a folder of safetensors shards, or a PyTorch .pt/.pth zip checkpoint" };
        var cmd = new Command("inspect", "List the tensors of a checkpoint without executing anything in it.") { file };
        cmd.SetAction(parse => Run(parse.GetValue(file)!, Console.Out, Console.Error));
        return cmd;
    }

    public static int Run(string path, TextWriter stdout, TextWriter stderr)
    {
        try
        {
            using var sd = StateDict.Open(path);
            long parameters = 0, bytes = 0;
            int width = sd.Keys.Count == 0 ? 4 : Math.Min(80, sd.Keys.Max(k => k.Length));
            foreach (var key in sd.Keys)
            {
                var (dtype, shape) = sd.Info(key);
                long n = shape.Aggregate(1L, (a, b) => a * b);
                parameters += n;
                bytes += n * TensorDType.ElementSize(dtype);
                stdout.WriteLine($"{key.PadRight(width)}  {TensorDType.ToSafeTensorsName(dtype),-4}  [{string.Join(", ", shape)}]");
            }
            foreach (var (key, value) in sd.NonTensorEntries)
                stdout.WriteLine($"{key.PadRight(width)}  (not a tensor: {Describe(value)})");
            stdout.WriteLine($"{sd.Keys.Count} tensors, {parameters:N0} elements, {bytes:N0} bytes" +
                             (sd.NonTensorEntries.Count > 0 ? $", {sd.NonTensorEntries.Count} non-tensor entries" : ""));
            return 0;
        }
        catch (Exception e) when (e is CheckpointFormatException or FileNotFoundException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"error: {OneLine(e.Message)}");
            return 1;
        }
    }

    private static string Describe(object? v) => v switch
    {
        null => "None",
        string s => $"'{s}'",
        object?[] t => $"tuple of {t.Length}",
        System.Collections.ICollection c => $"list of {c.Count}",
        _ => v.ToString() ?? "?",
    };

    private static string OneLine(string s) => s.ReplaceLineEndings(" ");
}
