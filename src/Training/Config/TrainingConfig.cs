using System.Globalization;
using SelfForcing.Training.Dmd;
using SelfForcing.Training.Optim;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SelfForcing.Training.Config;

/// <summary>A config file that cannot be used: bad YAML, a value of the wrong type, or a setting this trainer does not implement.</summary>
public sealed class TrainingConfigException(string message) : ArgumentException(message);

/// <summary>The trainer's settings from the merged config, what else the config named, and what was reported about it.</summary>
/// <param name="DataPath">The merged <c>data_path</c> (the prompt file), and whether the user's file set it.</param>
/// <param name="Warnings">One line per unknown key, and per ignored key the user's file changed.</param>
public sealed record TrainingConfig(DmdSettings Settings, string DataPath, bool DataPathFromUser, IReadOnlyList<string> Warnings)
{
    /// <summary>The reference's files, in merge order (<c>train.py</c> merges the run config over <c>default_config.yaml</c>).</summary>
    public static readonly string[] ReferenceFiles = ["default_config.yaml", "self_forcing_dmd.yaml"];

    /// <summary>The text of an embedded reference config (verbatim from the reference repository).</summary>
    public static string ReferenceText(string name)
    {
        using var stream = typeof(TrainingConfig).Assembly.GetManifestResourceStream("config/" + name)
            ?? throw new ArgumentException($"no embedded reference config '{name}'", nameof(name));
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>The reference defaults with the user's file (if any) laid over them.</summary>
    public static TrainingConfig Load(string? userPath)
    {
        if (userPath is null) return Parse(null, "");
        if (!File.Exists(userPath)) throw new TrainingConfigException($"config file not found: {userPath}");
        return Parse(File.ReadAllText(userPath), userPath);
    }

    /// <summary>As <see cref="Load"/>, from the user's YAML text (null = the reference defaults alone).</summary>
    public static TrainingConfig Parse(string? userYaml, string source)
    {
        var merged = new Dictionary<string, Entry>(StringComparer.Ordinal);
        foreach (var name in ReferenceFiles) Merge(merged, Root(ReferenceText(name), name), name, "", user: false);
        var warnings = new List<string>();
        if (userYaml is not null)
        {
            var reference = new Dictionary<string, Entry>(merged, StringComparer.Ordinal);
            Merge(merged, Root(userYaml, source), source, "", user: true);
            foreach (var (key, e) in merged.Where(kv => kv.Value.User).OrderBy(kv => kv.Value.Line))
            {
                if (!ReferenceConfigKeys.All.TryGetValue(key, out var known))
                    warnings.Add($"{source}:{e.Line}: unknown config key '{key}' (ignored)");
                else if (known.Use == ConfigKeyUse.Ignored && (!reference.TryGetValue(key, out var r) || !SameValue(r.Node, e.Node)))
                    warnings.Add($"{source}:{e.Line}: config key '{key}' has no effect here ({known.Why})");
            }
        }
        var v = new Reader(merged);
        foreach (var (key, known) in ReferenceConfigKeys.All) v.Check(key, known);

        var settings = new DmdSettings
        {
            Optimizers = new AdamWSettingsPair
            {
                Generator = new AdamWSettings(v.Float("lr"), v.Float("beta1"), v.Float("beta2"), v.Float("weight_decay")),
                Critic = new AdamWSettings(v.Float("lr_critic"), v.Float("beta1_critic"), v.Float("beta2_critic"), v.Float("weight_decay")),
            },
            MaxGradNormGenerator = v.Float("max_grad_norm_generator", 10.0),
            MaxGradNormCritic = v.Float("max_grad_norm_critic", 10.0),
            // model/dmd.py: real_guidance_scale when the config has it, else guidance_scale.
            GuidanceScale = v.Has("real_guidance_scale") ? v.Float("real_guidance_scale") : v.Float("guidance_scale"),
            TimestepShift = v.Float("timestep_shift", 1.0),
            GeneratorTimestepShift = v.Float("model_kwargs.timestep_shift", 5.0),
            MinScoreTimestep = v.Int("min_score_timestep", 0),
            DfakeGenUpdateRatio = (int)v.Int("dfake_gen_update_ratio"),
            EmaWeight = v.Float("ema_weight"),
            EmaStartStep = (int)v.Int("ema_start_step"),
            DenoisingStepList = v.IntList("denoising_step_list").Select(t => (int)t).ToArray(),
            WarpDenoisingStep = v.Bool("warp_denoising_step"),
            NumFramePerBlock = (int)v.Int("num_frame_per_block", 1),
            SameStepAcrossBlocks = v.Bool("same_step_across_blocks", true),
            LastStepOnly = v.Bool("last_step_only"),
            ContextNoise = (int)v.Int("context_noise"),
            NegativePrompt = v.String("negative_prompt"),
            BatchSize = (int)v.Int("batch_size"),
            LogIters = (int)v.Int("log_iters"),
            Seed = v.Int("seed"),
            GradientCheckpointing = v.Bool("gradient_checkpointing", false),
            MixedPrecision = v.Bool("mixed_precision", false),
        };
        try { settings.Validate(); }
        catch (ArgumentOutOfRangeException e) { throw new TrainingConfigException($"{source}: {e.Message.Split(" (Parameter")[0]}"); }
        return new TrainingConfig(settings, v.String("data_path"), merged.TryGetValue("data_path", out var dp) && dp.User, warnings);
    }

    private sealed record Entry(YamlNode Node, string Source, long Line, bool User);

    private static YamlMappingNode? Root(string yaml, string source)
    {
        var stream = new YamlStream();
        try { stream.Load(new StringReader(yaml)); }
        catch (YamlException e) { throw new TrainingConfigException($"{source}: not valid YAML at line {e.Start.Line}: {e.Message}"); }
        if (stream.Documents.Count == 0) return null;
        if (stream.Documents.Count > 1) throw new TrainingConfigException($"{source}: holds {stream.Documents.Count} YAML documents; a config is one mapping");
        return stream.Documents[0].RootNode switch
        {
            YamlMappingNode m => m,
            YamlScalarNode { Value: null or "" or "~" or "null" } => null,
            var n => throw new TrainingConfigException($"{source}: a config must be a mapping of keys to values (line {n.Start.Line})"),
        };
    }

    /// <summary>OmegaConf.merge: mappings merge key by key (recursively), anything else replaces.</summary>
    private static void Merge(Dictionary<string, Entry> into, YamlMappingNode? map, string source, string prefix, bool user)
    {
        if (map is null) return;
        foreach (var (k, node) in map.Children)
        {
            if (k is not YamlScalarNode { Value: { Length: > 0 } name })
                throw new TrainingConfigException($"{source}:{k.Start.Line}: config keys must be plain names");
            var key = prefix + name;
            into[key] = new Entry(node, source, node.Start.Line, user);
            if (node is YamlMappingNode nested) Merge(into, nested, source, key + ".", user);
        }
    }

    private static bool SameValue(YamlNode a, YamlNode b) => (a, b) switch
    {
        (YamlScalarNode x, YamlScalarNode y) => x.Value == y.Value,
        (YamlSequenceNode x, YamlSequenceNode y) => x.Children.Count == y.Children.Count && x.Children.Zip(y.Children).All(p => SameValue(p.First, p.Second)),
        (YamlMappingNode x, YamlMappingNode y) => x.Children.Count == y.Children.Count
            && x.Children.All(kv => y.Children.TryGetValue(kv.Key, out var o) && SameValue(kv.Value, o)),
        _ => false,
    };

    /// <summary>Typed access to the merged entries; every error names the key, the file and the line.</summary>
    private sealed class Reader(Dictionary<string, Entry> entries)
    {
        private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

        public bool Has(string key) => entries.TryGetValue(key, out var e) && !IsNull(e.Node);

        public void Check(string key, ConfigKey known)
        {
            if (!Has(key)) return;
            var e = entries[key];
            switch (known.Kind)
            {
                case ConfigValueKind.Int: Int(key); break;
                case ConfigValueKind.Float: Float(key); break;
                case ConfigValueKind.Bool: Bool(key); break;
                case ConfigValueKind.String: String(key); break;
                case ConfigValueKind.IntList: IntList(key); break;
                case ConfigValueKind.Map when e.Node is not YamlMappingNode: throw Wrong(key, "a mapping");
            }
            if (known.Use == ConfigKeyUse.Fixed && !SameValue(e.Node, new YamlScalarNode(known.Fixed)) && !SameNumber(key, known))
                throw new TrainingConfigException($"{Where(key)}: config key '{key}' = {Text(e.Node)} is not implemented by this trainer (only {known.Fixed})");
        }

        private bool SameNumber(string key, ConfigKey known) => known.Kind switch
        {
            ConfigValueKind.Float => Float(key) == double.Parse(known.Fixed!, Inv),
            ConfigValueKind.Int => Int(key) == long.Parse(known.Fixed!, Inv),
            ConfigValueKind.Bool => Bool(key) == bool.Parse(known.Fixed!),
            _ => false,
        };

        public double Float(string key, double? fallback = null)
        {
            if (!Has(key)) return fallback ?? throw Missing(key);
            if (Plain(key) is { } s && double.TryParse(s, NumberStyles.Float, Inv, out var d) && double.IsFinite(d)) return d;
            throw Wrong(key, "a number");
        }

        public long Int(string key, long? fallback = null)
        {
            if (!Has(key)) return fallback ?? throw Missing(key);
            if (Plain(key) is { } s && long.TryParse(s, NumberStyles.AllowLeadingSign, Inv, out var n)) return n;
            throw Wrong(key, "an integer");
        }

        public bool Bool(string key, bool? fallback = false)
        {
            if (!Has(key)) return fallback ?? throw Missing(key);
            // YAML 1.1 booleans, as PyYAML (and so OmegaConf) reads them.
            switch (Plain(key)?.ToLowerInvariant())
            {
                case "true" or "yes" or "on": return true;
                case "false" or "no" or "off": return false;
                default: throw Wrong(key, "true or false");
            }
        }

        public string String(string key)
        {
            if (!Has(key)) throw Missing(key);
            return entries[key].Node is YamlScalarNode { Value: { } s } ? s : throw Wrong(key, "a string");
        }

        public long[] IntList(string key)
        {
            if (!Has(key)) throw Missing(key);
            if (entries[key].Node is not YamlSequenceNode seq) throw Wrong(key, "a list of integers");
            return seq.Children.Select(c => c is YamlScalarNode { Style: ScalarStyle.Plain, Value: { } s } && long.TryParse(s, NumberStyles.AllowLeadingSign, Inv, out var n)
                ? n : throw Wrong(key, "a list of integers")).ToArray();
        }

        private string? Plain(string key) => entries[key].Node is YamlScalarNode { Style: ScalarStyle.Plain, Value: { } s } ? s : null;

        private static TrainingConfigException Missing(string key) =>
            new($"config key '{key}' is missing (the reference defaults set it; was it set to null?)");

        private TrainingConfigException Wrong(string key, string expected) =>
            new($"{Where(key)}: config key '{key}' must be {expected}, got {Text(entries[key].Node)}");

        private string Where(string key) => $"{entries[key].Source}:{entries[key].Line}";

        private static bool IsNull(YamlNode n) => n is YamlScalarNode { Style: ScalarStyle.Plain, Value: null or "" or "~" or "null" or "Null" or "NULL" };

        private static string Text(YamlNode n) => n switch
        {
            YamlScalarNode s => $"'{s.Value}'",
            YamlSequenceNode => "a list",
            YamlMappingNode => "a mapping",
            _ => n.NodeType.ToString(),
        };
    }
}
