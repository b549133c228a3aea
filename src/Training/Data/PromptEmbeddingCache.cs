using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using SelfForcing.Model.Checkpoints;
using static TorchSharp.torch;

namespace SelfForcing.Training.Data;

/// <summary>
/// Text embeddings computed once and kept on disk: one safetensors file per (encoder identity, prompt), named by the
/// SHA-256 of both, so runs (and different output folders) share them and another encoder never sees them. An entry is
/// trusted only if it parses and its metadata names the same encoder and prompt and the SHA-256 of its tensor bytes; a
/// damaged or foreign file is recomputed and replaced. Files are written to a temporary name and renamed, so a crash
/// mid-write leaves no half entry under the real name.
/// </summary>
public sealed class PromptEmbeddingCache(string folder, IPromptEncoder encoder, TextWriter? log = null)
{
    private const string Format = "selfforcing-prompt-embedding-1";
    private const string TensorName = "prompt_embeds";

    public string Folder { get; } = folder;
    /// <summary>Entries read from disk, computed because absent, and recomputed because damaged.</summary>
    public int Reused { get; private set; }
    public int Computed { get; private set; }
    public int Recomputed { get; private set; }

    public string PathOf(string prompt)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(encoder.Identity + "\0" + prompt));
        return Path.Combine(Folder, Convert.ToHexStringLower(hash) + ".safetensors");
    }

    /// <summary>The prompt's embeddings [1, text_len, text_dim], float32 on the CPU.</summary>
    public Tensor Get(string prompt)
    {
        var path = PathOf(prompt);
        if (File.Exists(path))
        {
            if (TryRead(path, prompt, out var cached, out var problem))
            {
                Reused++;
                return cached!;
            }
            log?.WriteLine($"warning: recomputing a damaged text-embedding cache entry {path}: {problem}");
            Recomputed++;
        }
        else Computed++;
        using var scope = NewDisposeScope();
        var embeds = encoder.Encode(prompt).to(ScalarType.Float32, CPU).contiguous();
        Write(path, prompt, embeds);
        return embeds.MoveToOuterDisposeScope();
    }

    private bool TryRead(string path, string prompt, out Tensor? embeds, out string? problem)
    {
        embeds = null;
        try
        {
            using var file = SafeTensorsFile.Open(path);
            var meta = file.Metadata;
            if (!meta.TryGetValue("format", out var f) || f != Format) problem = "not a prompt-embedding entry";
            else if (!meta.TryGetValue("encoder", out var e) || e != encoder.Identity) problem = "made by another text encoder";
            else if (!meta.TryGetValue("prompt", out var p) || p != prompt) problem = "holds another prompt";
            else if (!file.Entries.ContainsKey(TensorName) || file.Entries.Count != 1) problem = $"no single '{TensorName}' tensor";
            else
            {
                var t = file.Load(TensorName);
                if (t.dtype != ScalarType.Float32 || t.dim() != 3 || t.shape[0] != 1) { t.Dispose(); problem = "wrong dtype or shape"; }
                else if (!meta.TryGetValue("sha256", out var sum) || sum != Checksum(t)) { t.Dispose(); problem = "checksum mismatch"; }
                else { embeds = t; problem = null; return true; }
            }
        }
        catch (Exception ex) when (ex is IOException or CheckpointFormatException or InvalidDataException or System.Text.Json.JsonException
                                      or ArgumentException or UnauthorizedAccessException)
        {
            problem = ex.Message;
        }
        return false;
    }

    private void Write(string path, string prompt, Tensor embeds)
    {
        Directory.CreateDirectory(Folder);
        var temp = path + $".{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        SafeTensorsWriter.Write(temp, [new(TensorName, embeds)], new Dictionary<string, string>
        {
            ["format"] = Format, ["encoder"] = encoder.Identity, ["prompt"] = prompt, ["sha256"] = Checksum(embeds),
        });
        File.Move(temp, path, overwrite: true);
    }

    private static string Checksum(Tensor t)
    {
        var values = t.contiguous().data<float>().ToArray();
        return Convert.ToHexStringLower(SHA256.HashData(MemoryMarshal.AsBytes(values.AsSpan())));
    }
}
