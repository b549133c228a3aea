namespace SelfForcing.Hosting;

public static class Cli
{
    public static int Run(string[] args)
    {
        Console.WriteLine("selfforcing");
        return 0;
    }
}
