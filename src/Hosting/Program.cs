// Before anything allocates a tensor: libtorch reads its huge-page switch once (see NativeHeap).
SelfForcing.Model.NativeHeap.RequestHugePages();
return SelfForcing.Hosting.Cli.Run(args);
