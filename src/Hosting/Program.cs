// Before any tensor exists: keeps large tensors out of glibc's heap, where freed holes stayed resident (SelfForcing.Model.NativeHeap).
SelfForcing.Model.NativeHeap.FixMmapThreshold();
return SelfForcing.Hosting.Cli.Run(args);
