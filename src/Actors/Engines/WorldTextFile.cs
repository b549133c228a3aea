using System.Globalization;
using SelfForcing.Model.Checkpoints;
using SelfForcing.World;
using static TorchSharp.torch;

namespace SelfForcing.Actors.Engines;

/// <summary>
/// A trained world text encoder on its own (<c>selfforcing train world-text</c>): the UMT5 keys of
/// <see cref="WorldTextEncodeEngine"/> and, in the metadata, its text length and width. <c>train world-data --text</c>
/// encodes captions with it and <c>train world-export --text</c> ships it inside the world model file.
/// </summary>
public static class WorldTextFile
{
    public const string Format = "selfforcing-world-text-1";

    public static void Save(string path, WorldTextEncodeEngine text, IReadOnlyDictionary<string, string> provenance)
    {
        using var scope = NewDisposeScope();
        var metadata = new Dictionary<string, string>(provenance)
        {
            ["format"] = Format,
            ["text_len"] = text.Config.TextLen.ToString(CultureInfo.InvariantCulture), ["text_dim"] = text.Config.Dim.ToString(CultureInfo.InvariantCulture),
        };
        SafeTensorsWriter.Write(path, text.Weights().Select(kv => KeyValuePair.Create(kv.Key, kv.Value.detach().contiguous())).ToList(), metadata);
    }

    /// <summary>
    /// The text encoder of <paramref name="path"/>: a world text file, or a world model file (its shipped encoder), so a
    /// run can reuse the encoder of a model it continues from.
    /// </summary>
    /// <exception cref="InvalidDataException">Neither kind of file.</exception>
    public static WorldTextEncodeEngine Load(string path, Device device)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"the world text encoder {path} does not exist", path);
        string? format;
        using (var file = SafeTensorsFile.Open(path))
        {
            file.Metadata.TryGetValue("format", out format);
            if (format == Format)
            {
                int textLen = Int(file, "text_len", path), textDim = Int(file, "text_dim", path);
                if (textLen < WorldVocabulary.LongestCaption)
                    throw new InvalidDataException($"{path}: text_len {textLen} cannot hold the longest caption ({WorldVocabulary.LongestCaption} tokens)");
                return new WorldTextEncodeEngine(WorldTextEncodeEngine.ConfigFor(textLen, textDim), device,
                    file.Entries.Keys.Select(k => KeyValuePair.Create(k, file.Load(k))));
            }
        }
        if (format == WorldModelFile.Format) return WorldModelFile.TextEncoder(path, device);
        throw new InvalidDataException($"{path} is neither a world text encoder ('{Format}') nor a world model file ('{WorldModelFile.Format}'); its format is '{format}'");
    }

    private static int Int(SafeTensorsFile file, string key, string path) =>
        file.Metadata.TryGetValue(key, out var text) && int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value > 0
            ? value : throw new InvalidDataException($"{path} has no valid '{key}' in its metadata");
}
