namespace SelfForcing.Actors.Video;

/// <summary>
/// One message of a published stream. <see cref="Kind"/> is <c>init</c>, <c>segment</c> or <c>jpeg</c>;
/// (stream, Kind, Index) is unique within a stream and stable across retries, so it names the message for
/// de-duplication (<c>Nats-Msg-Id: &lt;stream&gt;-&lt;kind&gt;-&lt;index&gt;</c>).
/// </summary>
/// <param name="Index">The chunk for <c>init</c>/<c>segment</c>, the frame for <c>jpeg</c>.</param>
/// <param name="Frames">Video frames the payload carries (0 for an init segment).</param>
public sealed record StreamPayload(string Kind, long Index, int Frames, byte[] Data)
{
    public const string Init = "init", Segment = "segment", Jpeg = "jpeg";
}
