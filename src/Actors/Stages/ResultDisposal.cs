namespace SelfForcing.Actors.Stages;

/// <summary>Frees the native memory of a result nobody will consume (late duplicates, cancelled streams).</summary>
public static class ResultDisposal
{
    public static void Dispose(object result)
    {
        if (result is ChunkDenoisedLocally d) d.Latents.Dispose();
    }
}
