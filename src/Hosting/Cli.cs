using System.CommandLine;
using SelfForcing.Hosting.Commands;

namespace SelfForcing.Hosting;

public static class Cli
{
    public static int Run(string[] args)
    {
        var root = new RootCommand("selfforcing — real-time Self-Forcing text-to-video, served by an Akka.NET pipeline.")
        {
            GenerateCommand.Create(),
            ServeCommand.Create(),
            InspectCommand.Create(),
            BenchCommand.Create(),
        };
        return root.Parse(args).Invoke();
    }
}
