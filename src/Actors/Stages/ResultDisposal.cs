using SelfForcing.Actors.Messages;

namespace SelfForcing.Actors.Stages;

/// <summary>Frees the native memory of a result nobody will consume (late duplicates, cancelled streams).</summary>
public static class ResultDisposal
{
    public static void Dispose(object result)
    {
        switch (result)
        {
            case TextEncoded t: t.Conditioning.Dispose(); break;
            case ChunkDenoised d: d.Latents.Dispose(); break;
            case ChunkDecoded d: d.Pixels.Dispose(); d.Next.Dispose(); break;
        }
    }
}
