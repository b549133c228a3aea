using System.CommandLine;
using SelfForcing.Hosting.Commands;

namespace SelfForcing.Hosting;

public static class Cli
{
    /// <param name="stdout">Where <c>generate</c>, <c>bench</c>, <c>train</c>, <c>world</c> and <c>eval-world</c> report (the console unless a test captures it).</param>
    public static int Run(string[] args, TextWriter? stdout = null, TextWriter? stderr = null)
    {
        var root = new RootCommand("selfforcing — real-time Self-Forcing text-to-video, served by an Akka.NET pipeline.")
        {
            GenerateCommand.Create(stdout, stderr),
            ServeCommand.Create(),
            InspectCommand.Create(),
            BenchCommand.Create(stdout, stderr),
            TrainCommand.Create(stdout, stderr),
            WorldCommand.Create(stdout, stderr),
            EvalWorldCommand.Create(stdout, stderr),
            WorldSampleCommand.Create(stdout, stderr),
        };
        return root.Parse(args).Invoke();
    }
}
