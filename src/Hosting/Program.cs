return SelfForcing.Hosting.Cli.Run(args);
