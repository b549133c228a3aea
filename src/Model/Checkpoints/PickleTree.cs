using System.Globalization;

namespace SelfForcing.Model.Checkpoints;

/// <summary>
/// Turns the value a pickle built into a flat state dict (nested dict keys joined with '.'), after checking that it
/// is a structure a reader can walk: no container contains itself, containers nest at most
/// <see cref="CheckpointLimits.MaxNestingDepth"/> deep, and every container is visited once however many references
/// reach it (a pickle's memo lets 40 dicts form 2^40 paths). Both walks keep their own stack on the heap, so nesting
/// chosen by the file never reaches the .NET call stack.
/// </summary>
public static class PickleTree
{
    public sealed record Flattened(IReadOnlyList<(string Key, PickledTensor Tensor)> Tensors, IReadOnlyDictionary<string, object?> Other);

    private const int OnPath = -1;

    private sealed class Frame(object node)
    {
        public object Node { get; } = node;
        public int Next { get; set; }
        public int Height { get; set; }
    }

    /// <summary>Checks the structure, then flattens the root dict. Cycles, depth, size and shared dicts are refused with a <see cref="CheckpointFormatException.Hazard"/>.</summary>
    public static Flattened Flatten(string source, object? root)
    {
        if (root is not PickleDict dict) throw new CheckpointFormatException($"{source}: the checkpoint is not a dict of tensors");
        CheckStructure(source, dict);
        return FlattenDicts(source, dict);
    }

    /// <summary>
    /// Depth-first over dicts, lists and tuples with an explicit path. A container met again while still on the path
    /// is a cycle; one met again after it was finished is only counted into its parent's height (the longest chain
    /// below it), so shared references cost one visit, not one per path.
    /// </summary>
    public static void CheckStructure(string source, object root)
    {
        var height = new Dictionary<object, int>(ReferenceEqualityComparer.Instance) { [root] = OnPath };
        var path = new List<Frame> { new(root) };
        long visited = 1;
        while (path.Count > 0)
        {
            var top = path[^1];
            if (NextChild(top, out var child))
            {
                if (child is null || !IsContainer(child)) continue;
                if (height.TryGetValue(child, out var h))
                {
                    if (h == OnPath)
                        throw new CheckpointFormatException(CheckpointHazard.Cycle,
                            $"{source}: a {Kind(child)} contains itself (reached again at {Where(path)}); cyclic structures are refused");
                    top.Height = Math.Max(top.Height, h);
                    continue;
                }
                if (path.Count >= CheckpointLimits.MaxNestingDepth)
                    throw TooDeep(source, path);
                if (++visited > CheckpointLimits.MaxObjects)
                    throw new CheckpointFormatException(CheckpointHazard.TooManyObjects,
                        $"{source}: more than {CheckpointLimits.MaxObjects} containers");
                height[child] = OnPath;
                path.Add(new Frame(child));
            }
            else
            {
                path.RemoveAt(path.Count - 1);
                int own = top.Height + 1;
                if (own > CheckpointLimits.MaxNestingDepth) throw TooDeep(source, path);
                height[top.Node] = own;
                if (path.Count > 0) path[^1].Height = Math.Max(path[^1].Height, own);
            }
        }
    }

    private static CheckpointFormatException TooDeep(string source, List<Frame> path) =>
        new(CheckpointHazard.NestingTooDeep,
            $"{source}: containers nest deeper than {CheckpointLimits.MaxNestingDepth} levels (at {Where(path)})");

    private static bool IsContainer(object o) => o is PickleDict or List<object?> or object?[];

    private static string Kind(object o) => o switch { PickleDict => "dict", List<object?> => "list", _ => "tuple" };

    /// <summary>The child after the last one returned: a dict yields each key, then its value.</summary>
    private static bool NextChild(Frame f, out object? child)
    {
        int i = f.Next;
        switch (f.Node)
        {
            case PickleDict d when i < 2 * d.Items.Count:
                child = i % 2 == 0 ? d.Items[i / 2].Key : d.Items[i / 2].Value;
                break;
            case List<object?> l when i < l.Count:
                child = l[i];
                break;
            case object?[] t when i < t.Length:
                child = t[i];
                break;
            default:
                child = null;
                return false;
        }
        f.Next = i + 1;
        return true;
    }

    /// <summary>The path to the child a frame last returned, as dotted keys and [index] steps.</summary>
    private static string Where(List<Frame> path)
    {
        var steps = new List<string>();
        foreach (var f in path)
        {
            int i = f.Next - 1;
            if (i < 0) break;
            steps.Add(f.Node switch
            {
                PickleDict d when i % 2 == 1 => KeyText(d.Items[i / 2].Key),
                PickleDict => "(a key)",
                _ => $"[{i}]",
            });
        }
        return steps.Count == 0 ? "the root" : "'" + CheckpointText.Clip(string.Join(".", steps)) + "'";
    }

    private static string KeyText(object? k) => k switch
    {
        string s => s,
        long l => l.ToString(CultureInfo.InvariantCulture),
        _ => k?.GetType().Name ?? "None",
    };

    private sealed class DictFrame(PickleDict dict, string prefix)
    {
        public PickleDict Dict { get; } = dict;
        public string Prefix { get; } = prefix;
        public int Next { get; set; }
    }

    /// <summary>
    /// Joins nested dict keys in pre-order. A dict reachable under two keys is refused: flattening it would repeat
    /// its entries once per path, which is how 40 shared dicts become 2^40 keys. (Shared tensors, i.e. tied weights,
    /// are leaves and fine.)
    /// </summary>
    private static Flattened FlattenDicts(string source, PickleDict root)
    {
        var tensors = new List<(string, PickledTensor)>();
        var other = new Dictionary<string, object?>(StringComparer.Ordinal);
        var reachedAt = new Dictionary<PickleDict, string>(ReferenceEqualityComparer.Instance) { [root] = "" };
        var stack = new List<DictFrame> { new(root, "") };
        long keyChars = 0;
        while (stack.Count > 0)
        {
            var top = stack[^1];
            if (top.Next == top.Dict.Items.Count) { stack.RemoveAt(stack.Count - 1); continue; }
            var (k, v) = top.Dict.Items[top.Next++];
            var name = k switch
            {
                string s => s,
                long l => l.ToString(CultureInfo.InvariantCulture),
                _ => throw new CheckpointFormatException(
                    $"{source}: unsupported dict key {CheckpointText.Clip(k?.ToString() ?? "None")} under '{CheckpointText.Clip(top.Prefix)}'"),
            };
            if (top.Prefix.Length + 1 + name.Length > CheckpointLimits.MaxKeyChars)
                throw new CheckpointFormatException(CheckpointHazard.KeyTooLong,
                    $"{source}: key '{CheckpointText.Clip(top.Prefix.Length == 0 ? name : top.Prefix + "." + name)}' is longer than {CheckpointLimits.MaxKeyChars} characters");
            var key = top.Prefix.Length == 0 ? name : top.Prefix + "." + name;
            if ((keyChars += key.Length) > CheckpointLimits.MaxTotalKeyChars)
                throw new CheckpointFormatException(CheckpointHazard.KeyTooLong,
                    $"{source}: keys total more than {CheckpointLimits.MaxTotalKeyChars} characters");
            switch (v)
            {
                case PickleDict inner:
                    if (!reachedAt.TryAdd(inner, key))
                        throw new CheckpointFormatException(CheckpointHazard.SharedDict,
                            $"{source}: the dict at '{CheckpointText.Clip(key)}' is the same object as the one at " +
                            $"'{CheckpointText.Clip(reachedAt[inner])}'; shared sub-dicts are refused (every path would repeat its entries)");
                    stack.Add(new DictFrame(inner, key));
                    continue;
                case PickledTensor t:
                    tensors.Add((key, t));
                    break;
                default:
                    other[key] = v;
                    break;
            }
            if (tensors.Count + other.Count > CheckpointLimits.MaxStateDictEntries)
                throw new CheckpointFormatException(CheckpointHazard.TooManyEntries,
                    $"{source}: more than {CheckpointLimits.MaxStateDictEntries} state-dict entries");
        }
        return new Flattened(tensors, other);
    }
}
