using System.Diagnostics;
using System.Threading.Channels;
using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Messages;
using static TorchSharp.torch;

namespace SelfForcing.Actors.Streams;

/// <summary>The coordinator's bookkeeping for one stream: what each stage has done and what waits between stages.</summary>
internal sealed class StreamState(StreamSpec spec, Channel<EncodedChunk> output, int? totalChunks, int chunkLimit)
{
    public StreamSpec Spec { get; } = spec;
    public Channel<EncodedChunk> Output { get; } = output;
    public int? TotalChunks { get; } = totalChunks;
    /// <summary>Chunks this stream will have: the requested count, or the model's limit for an unbounded stream.</summary>
    public int ChunkLimit { get; } = totalChunks ?? chunkLimit;
    public StreamPhase Phase { get; set; } = StreamPhase.Starting;
    public string? Error { get; set; }
    public Stopwatch Clock { get; } = Stopwatch.StartNew();
    public double? FirstFrameSeconds { get; set; }
    public long FramesOut { get; set; }

    public bool CacheReady { get; set; }
    public int NextDenoise { get; set; }
    public bool DenoiseBusy { get; set; }
    public Queue<(int Chunk, Tensor Latents)> ToDecode { get; } = new();
    public bool DecodeBusy => InDecode is not null;
    /// <summary>Latents the decode stage is working on; freed when its answer arrives.</summary>
    public Tensor? InDecode { get; set; }
    public IDecoderState? DecoderState { get; set; }
    public Queue<(int Chunk, Tensor Pixels)> ToEncode { get; } = new();
    public bool EncodeBusy => InEncode is not null;
    /// <summary>Pixels the encode stage is working on; freed when its answer arrives.</summary>
    public Tensor? InEncode { get; set; }
    public int FramesEncoded { get; set; }
    public Queue<EncodedChunk> ToDeliver { get; } = new();
    public int Delivered { get; set; }
    public bool WaitingForConsumer { get; set; }

    /// <summary>Prompt switches in order: (first chunk, prompt); chunk 0's entry is the stream's first prompt.</summary>
    public List<(int FromChunk, string Prompt)> Prompts { get; } = [(0, spec.Prompt)];
    /// <summary>The first chunk of a switch whose text is still being encoded: no chunk from here on may start denoising.</summary>
    public int? PendingSwitch { get; set; }
    public Dictionary<int, double> DenoiseSeconds { get; } = new();
    public Dictionary<int, double> DecodeSeconds { get; } = new();

    public string PromptFor(int chunk) => Prompts.Last(p => p.FromChunk <= chunk).Prompt;

    public bool Finished => Phase is StreamPhase.Completed or StreamPhase.Cancelled or StreamPhase.Failed;
    public bool AllDenoised => NextDenoise >= ChunkLimit;

    /// <summary>Frees tensors waiting between stages (the stream ended).</summary>
    public void DropPending()
    {
        while (ToDecode.Count > 0) ToDecode.Dequeue().Latents.Dispose();
        while (ToEncode.Count > 0) ToEncode.Dequeue().Pixels.Dispose();
        ToDeliver.Clear();
        // Tensors a stage is still working on are freed when its (ignored) answer arrives.
        if (!DecodeBusy)
        {
            DecoderState?.Dispose();
            DecoderState = null;
        }
    }

    public void SettleDecode()
    {
        InDecode?.Dispose();
        InDecode = null;
    }

    public void SettleEncode()
    {
        InEncode?.Dispose();
        InEncode = null;
    }
}
