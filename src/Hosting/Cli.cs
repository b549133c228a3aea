using System.CommandLine;
using SelfForcing.Hosting.Commands;

namespace SelfForcing.Hosting;

public static class Cli
{
    /// <param name="stdout">Where <c>generate</c>, <c>bench</c> and <c>train</c> report (the console unless a test captures it).</param>
    public static int Run(string[] args, TextWriter? stdout = null, TextWriter? stderr = null)
    {
        var root = new RootCommand("selfforcing — real-time Self-Forcing text-to-video, served by an Akka.NET pipeline.")
        {
            GenerateCommand.Create(stdout, stderr),
            ServeCommand.Create(),
            InspectCommand.Create(),
            BenchCommand.Create(stdout, stderr),
            TrainCommand.Create(stdout, stderr),
        };
        return root.Parse(args).Invoke();
    }
}
