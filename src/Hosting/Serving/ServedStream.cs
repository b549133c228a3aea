using SelfForcing.Actors;

namespace SelfForcing.Hosting.Serving;

/// <summary>What the API knows of one stream it started: its handle, what has been published, and its state.</summary>
public sealed class ServedStream(StreamHandle handle, string prompt)
{
    private readonly object _gate = new();
    private string _prompt = prompt;
    private string _state = "running";

    public StreamHandle Handle { get; } = handle;
    public string Id => Handle.StreamId;
    public int ChunksPublished { get; private set; }
    public long FramesPublished { get; private set; }
    public Task? Publisher { get; set; }

    public string Prompt { get { lock (_gate) return _prompt; } set { lock (_gate) _prompt = value; } }
    public string State { get { lock (_gate) return _state; } set { lock (_gate) _state = value; } }
    public bool Live => State == "running";

    /// <summary>Why the stream was cancelled, for its closing event.</summary>
    public string CancelReason { get; private set; } = "cancelled";
    public DateTime EndedAt { get; private set; } = DateTime.MaxValue;

    public void Cancel(string reason)
    {
        CancelReason = reason;
        Handle.Cancel();
    }

    public void End(string state)
    {
        State = state;
        EndedAt = DateTime.UtcNow;
    }

    public void Published(int frames)
    {
        lock (_gate)
        {
            ChunksPublished++;
            FramesPublished += frames;
        }
    }
}
