using Akka.Configuration;
using SelfForcing.Actors.Messages;

namespace SelfForcing.Actors.Faults;

/// <summary>Throw an exception, Kill or PoisonPill the worker, or throw what a device out-of-memory looks like.</summary>
public enum FaultAction { Throw, Kill, PoisonPill, OutOfMemory }

/// <summary>
/// Strike <paramref name="Stage"/> at a chunk (any when null) and, for the denoiser, after a step (any when null);
/// only in the stream with that id, or whose prompt is <paramref name="Prompt"/>, when given (stream ids are random,
/// so a test that must target one stream before it exists names its prompt).
/// </summary>
public sealed record FaultRule(Stage Stage, FaultAction Action, int? Chunk = null, int? Step = null, int Times = 1, string? StreamId = null,
    string? Prompt = null);

/// <summary>A fault injected by a test; thrown inside a stage worker.</summary>
public sealed class InjectedFaultException(string message) : Exception(message);

/// <summary>
/// Decides where stage workers fail. Explicit rules fire a given number of times; the random mode strikes any
/// check with a seeded probability, at most <see cref="MaxPerJob"/> times per (stage, stream, chunk) so that a
/// stream can still complete within the supervisor's attempt budget. Thread-safe: workers run on their own threads.
/// </summary>
public sealed class FaultInjector
{
    private readonly List<(FaultRule Rule, int[] Left)> _rules;
    private readonly Random? _random;
    private readonly double _probability;
    private readonly FaultAction[] _randomActions;
    private readonly Dictionary<(Stage, string, int), int> _perJob = new();
    private readonly List<string> _log = new();
    private readonly object _gate = new();

    public int MaxPerJob { get; }

    public static FaultInjector None { get; } = new([]);

    public FaultInjector(IEnumerable<FaultRule> rules, int? randomSeed = null, double probability = 0, IEnumerable<FaultAction>? randomActions = null,
        int maxPerJob = 2)
    {
        _rules = rules.Select(r => (r, new[] { r.Times })).ToList();
        if (randomSeed is int seed && probability > 0) _random = new Random(seed);
        _probability = probability;
        _randomActions = (randomActions ?? [FaultAction.Throw, FaultAction.Kill, FaultAction.PoisonPill]).ToArray();
        MaxPerJob = maxPerJob;
    }

    /// <summary>Faults injected so far, one line each (stage, stream, chunk, step, action).</summary>
    public IReadOnlyList<string> Injected { get { lock (_gate) return _log.ToArray(); } }

    public FaultAction? Check(Stage stage, string streamId, int chunk, int? step = null, string? prompt = null)
    {
        lock (_gate)
        {
            foreach (var (rule, left) in _rules)
            {
                if (left[0] <= 0 || rule.Stage != stage) continue;
                if (rule.Chunk is int c && c != chunk) continue;
                if (rule.Step is int s && s != step) continue;
                if (rule.StreamId is not null && rule.StreamId != streamId) continue;
                if (rule.Prompt is not null && rule.Prompt != prompt) continue;
                left[0]--;
                return Record(stage, streamId, chunk, step, rule.Action);
            }
            if (_random is null || _random.NextDouble() >= _probability) return null;
            var key = (stage, streamId, chunk);
            int n = _perJob.GetValueOrDefault(key);
            if (n >= MaxPerJob) return null;
            _perJob[key] = n + 1;
            return Record(stage, streamId, chunk, step, _randomActions[_random.Next(_randomActions.Length)]);
        }
    }

    private FaultAction Record(Stage stage, string streamId, int chunk, int? step, FaultAction action)
    {
        _log.Add($"{stage} stream={streamId} chunk={chunk} step={step?.ToString() ?? "-"} action={action}");
        return action;
    }

    /// <summary>
    /// Reads <c>selfforcing.fault-injection</c>: <c>rules = [{ stage = denoise, chunk = 1, step = 2, action = kill, times = 1 }]</c>
    /// and <c>random { seed = 7, probability = 0.1, actions = [throw, kill, poison-pill] }</c>.
    /// </summary>
    public static FaultInjector FromConfig(Config? config)
    {
        if (config is null || config.IsEmpty) return None;
        var rules = new List<FaultRule>();
        var list = config.HasPath("rules") ? config.GetValue("rules").GetArray() : [];
        foreach (var r in list)
        {
            var rc = new Config(new Akka.Configuration.Hocon.HoconRoot(r));
            rules.Add(new FaultRule(ParseStage(rc.GetString("stage")), ParseAction(rc.GetString("action", "throw")),
                rc.HasPath("chunk") ? rc.GetInt("chunk") : null, rc.HasPath("step") ? rc.GetInt("step") : null, rc.GetInt("times", 1),
                rc.GetString("stream", null), rc.GetString("prompt", null)));
        }
        int? seed = config.HasPath("random.seed") ? config.GetInt("random.seed") : null;
        double p = config.GetDouble("random.probability", 0);
        var actions = config.HasPath("random.actions") ? config.GetStringList("random.actions").Select(ParseAction).ToArray() : null;
        return new FaultInjector(rules, seed, p, actions, config.GetInt("random.max-per-job", 2));
    }

    public static Stage ParseStage(string s) => s.ToLowerInvariant() switch
    {
        "text-encode" or "text" => Stage.TextEncode,
        "denoise" or "denoise-chunk" => Stage.Denoise,
        "decode" or "vae-decode" => Stage.Decode,
        "encode" or "encode-to-stream" => Stage.Encode,
        _ => throw new ArgumentException($"unknown stage '{s}' (text-encode, denoise, decode, encode)"),
    };

    public static FaultAction ParseAction(string s) => s.ToLowerInvariant() switch
    {
        "throw" => FaultAction.Throw,
        "kill" => FaultAction.Kill,
        "poison-pill" or "poisonpill" or "stop" => FaultAction.PoisonPill,
        "out-of-memory" or "oom" => FaultAction.OutOfMemory,
        _ => throw new ArgumentException($"unknown fault action '{s}' (throw, kill, poison-pill, out-of-memory)"),
    };
}
