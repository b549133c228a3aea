using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using TorchSharp;

namespace SelfForcing.Model.Checkpoints;

/// <summary>A storage reference from a torch.save archive: <c>('storage', FloatStorage, key, location, numel)</c>.</summary>
public sealed record PickledStorage(string Key, torch.ScalarType DType, long Numel);

/// <summary>A tensor as <c>torch._utils._rebuild_tensor_v2</c> describes it: a view into a storage.</summary>
public sealed record PickledTensor(PickledStorage Storage, long StorageOffset, long[] Shape, long[] Stride);

/// <summary>
/// A pickle reader that understands only what <c>torch.save</c> of (nested) dicts of tensors produces. It never
/// calls anything: the few globals it knows (OrderedDict, the tensor rebuild functions, typed storage classes)
/// are interpreted as data, and any other global is refused with its name before it could be applied.
/// It is a loop over opcodes with no recursion, and bounds what a hostile pickle can make it hold: the pickle's size,
/// its stack, its memo and the number of values it builds (<see cref="CheckpointLimits"/>). The structure it returns
/// may still be cyclic or deeply nested; <see cref="PickleTree"/> checks that before anything walks it.
/// </summary>
public sealed class RestrictedUnpickler
{
    private sealed record Global(string Module, string Name)
    {
        public string FullName => $"{Module}.{Name}";
    }

    /// <summary>A value the pickle built that is neither a tensor nor plain data (kept opaque, reported by name).</summary>
    public sealed record Opaque(string Description);

    private static readonly Dictionary<string, torch.ScalarType> StorageTypes = new()
    {
        ["FloatStorage"] = torch.ScalarType.Float32,
        ["DoubleStorage"] = torch.ScalarType.Float64,
        ["HalfStorage"] = torch.ScalarType.Float16,
        ["BFloat16Storage"] = torch.ScalarType.BFloat16,
        ["LongStorage"] = torch.ScalarType.Int64,
        ["IntStorage"] = torch.ScalarType.Int32,
        ["ShortStorage"] = torch.ScalarType.Int16,
        ["CharStorage"] = torch.ScalarType.Int8,
        ["ByteStorage"] = torch.ScalarType.Byte,
        ["BoolStorage"] = torch.ScalarType.Bool,
    };

    private static readonly HashSet<string> AllowedCallables =
    [
        "collections.OrderedDict",
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_tensor",
        "torch._utils._rebuild_parameter",
    ];

    private readonly byte[] _data;
    private int _pos;
    private readonly List<object?> _stack = new();
    // Stack heights at each MARK (Python's metastack): finding the top mark is O(1), and nothing pops below it.
    private readonly List<int> _marks = new();
    private readonly Dictionary<long, object?> _memo = new();
    private readonly string _source;
    private long _built;

    private RestrictedUnpickler(byte[] data, string source) { _data = data; _source = source; }

    /// <summary>Parses one pickle; dicts come back as <see cref="PickleDict"/> (insertion-ordered), lists as <c>List&lt;object?&gt;</c>, tuples as <c>object?[]</c>.</summary>
    public static object? Load(byte[] data, string source)
    {
        if (data.LongLength > CheckpointLimits.MaxPickleBytes)
            throw new CheckpointFormatException(CheckpointHazard.PickleTooLarge,
                $"{source}: pickle is {data.LongLength} bytes, over the {CheckpointLimits.MaxPickleBytes}-byte limit");
        return new RestrictedUnpickler(data, source).Run();
    }

    private CheckpointFormatException Error(string message) => new($"{_source}: {message}");
    private CheckpointFormatException Unsafe(CheckpointHazard hazard, string message) => new(hazard, $"{_source}: {message}");

    /// <summary>Pushes a value the pickle just built (counted against <see cref="CheckpointLimits.MaxObjects"/>).</summary>
    private void Push(object? v)
    {
        if (++_built > CheckpointLimits.MaxObjects)
            throw Unsafe(CheckpointHazard.TooManyObjects, $"pickle builds more than {CheckpointLimits.MaxObjects} values");
        PushRef(v);
    }

    /// <summary>Pushes a reference to a value already built (memo get).</summary>
    private void PushRef(object? v)
    {
        if (_stack.Count + _marks.Count >= CheckpointLimits.MaxPickleStack)
            throw Unsafe(CheckpointHazard.PickleStackTooLarge, $"pickle stack grows past {CheckpointLimits.MaxPickleStack} entries");
        _stack.Add(v);
    }

    private void PushMark()
    {
        if (_stack.Count + _marks.Count >= CheckpointLimits.MaxPickleStack)
            throw Unsafe(CheckpointHazard.PickleStackTooLarge, $"pickle stack grows past {CheckpointLimits.MaxPickleStack} entries");
        _marks.Add(_stack.Count);
    }

    private void MemoPut(long key, object? v)
    {
        if (_memo.Count >= CheckpointLimits.MaxMemoEntries && !_memo.ContainsKey(key))
            throw Unsafe(CheckpointHazard.MemoTooLarge, $"pickle memo grows past {CheckpointLimits.MaxMemoEntries} entries");
        _memo[key] = v;
    }

    private byte ReadByte() => _pos < _data.Length ? _data[_pos++] : throw Error("pickle ends unexpectedly");

    private ReadOnlySpan<byte> Read(long n)
    {
        if (n < 0 || n > _data.Length - _pos) throw Error("pickle ends unexpectedly");
        var s = _data.AsSpan(_pos, (int)n);
        _pos += (int)n;
        return s;
    }

    private string ReadLine()
    {
        int start = _pos;
        while (_pos < _data.Length && _data[_pos] != (byte)'\n') _pos++;
        if (_pos >= _data.Length) throw Error("pickle ends unexpectedly");
        var s = Encoding.UTF8.GetString(_data, start, _pos - start);
        _pos++;
        return s;
    }

    private int Floor => _marks.Count > 0 ? _marks[^1] : 0;

    private object? Pop()
    {
        if (_stack.Count <= Floor) throw Error("pickle stack underflow");
        var v = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return v;
    }

    private object? Peek() => _stack.Count > Floor ? _stack[^1] : throw Error("pickle stack underflow");

    private List<object?> PopMark()
    {
        if (_marks.Count == 0) throw Error("pickle MARK missing");
        int i = _marks[^1];
        _marks.RemoveAt(_marks.Count - 1);
        var items = _stack.GetRange(i, _stack.Count - i);
        _stack.RemoveRange(i, _stack.Count - i);
        return items;
    }

    private object? Run()
    {
        while (true)
        {
            byte op = ReadByte();
            switch (op)
            {
                case 0x80: ReadByte(); break; // PROTO
                case 0x95: Read(8); break; // FRAME
                case (byte)'.': return Pop(); // STOP
                case (byte)'(': PushMark(); break; // MARK
                case (byte)'}': Push(new PickleDict()); break; // EMPTY_DICT
                case (byte)']': Push(new List<object?>()); break; // EMPTY_LIST
                case (byte)')': Push(Array.Empty<object?>()); break; // EMPTY_TUPLE
                case (byte)'N': Push(null); break;
                case 0x88: Push(true); break;
                case 0x89: Push(false); break;
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Read(4))); break; // BININT
                case (byte)'K': Push((long)ReadByte()); break; // BININT1
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Read(2))); break; // BININT2
                case 0x8a: Push(ReadLong(ReadByte())); break; // LONG1
                case 0x8b: Push(ReadLong(BinaryPrimitives.ReadInt32LittleEndian(Read(4)))); break; // LONG4
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Read(8))); break; // BINFLOAT
                case (byte)'X': Push(Encoding.UTF8.GetString(Read(BinaryPrimitives.ReadUInt32LittleEndian(Read(4))))); break; // BINUNICODE
                case 0x8c: Push(Encoding.UTF8.GetString(Read(ReadByte()))); break; // SHORT_BINUNICODE
                case 0x8d: Push(Encoding.UTF8.GetString(Read((long)BinaryPrimitives.ReadUInt64LittleEndian(Read(8))))); break; // BINUNICODE8
                case (byte)'U': Push(Encoding.Latin1.GetString(Read(ReadByte()))); break; // SHORT_BINSTRING
                case (byte)'T': Push(Encoding.Latin1.GetString(Read(BinaryPrimitives.ReadInt32LittleEndian(Read(4))))); break; // BINSTRING
                case (byte)'C': Push(Read(ReadByte()).ToArray()); break; // SHORT_BINBYTES
                case (byte)'B': Push(Read(BinaryPrimitives.ReadUInt32LittleEndian(Read(4))).ToArray()); break; // BINBYTES
                case (byte)'q': MemoPut(ReadByte(), Peek()); break; // BINPUT
                case (byte)'r': MemoPut(BinaryPrimitives.ReadUInt32LittleEndian(Read(4)), Peek()); break; // LONG_BINPUT
                case 0x94: MemoPut(_memo.Count, Peek()); break; // MEMOIZE
                case (byte)'h': PushRef(MemoGet(ReadByte())); break; // BINGET
                case (byte)'j': PushRef(MemoGet(BinaryPrimitives.ReadUInt32LittleEndian(Read(4)))); break; // LONG_BINGET
                case (byte)'t': Push(PopMark().ToArray()); break; // TUPLE
                case 0x85: Push(new[] { Pop() }); break; // TUPLE1
                case 0x86: { var b = Pop(); var a = Pop(); Push(new[] { a, b }); break; } // TUPLE2
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new[] { a, b, c }); break; } // TUPLE3
                case (byte)'l': Push(PopMark()); break; // LIST
                case (byte)'d': { var items = PopMark(); var d = new PickleDict(); for (int i = 0; i + 1 < items.Count; i += 2) SetItem(d, items[i], items[i + 1]); Push(d); break; } // DICT
                case (byte)'a': { var v = Pop(); AsList(Peek()).Add(v); break; } // APPEND
                case (byte)'e': { var items = PopMark(); AsList(Peek()).AddRange(items); break; } // APPENDS
                case (byte)'s': { var v = Pop(); var k = Pop(); SetItem(AsDict(Peek()), k, v); break; } // SETITEM
                case (byte)'u': { var items = PopMark(); var d = AsDict(Peek()); for (int i = 0; i + 1 < items.Count; i += 2) SetItem(d, items[i], items[i + 1]); break; } // SETITEMS
                case (byte)'c': { var module = ReadLine(); var name = ReadLine(); Push(ResolveGlobal(module, name)); break; } // GLOBAL
                case 0x93: { var name = Pop() as string; var module = Pop() as string; if (module is null || name is null) throw Error("malformed STACK_GLOBAL"); Push(ResolveGlobal(module, name)); break; }
                case (byte)'R': { var args = Pop(); var f = Pop(); Push(Reduce(f, args)); break; } // REDUCE
                case 0x81: { var args = Pop(); var cls = Pop(); Push(Reduce(cls, args)); break; } // NEWOBJ
                case (byte)'Q': Push(PersistentLoad(Pop())); break; // BINPERSID
                case (byte)'b': { var state = Pop(); Build(Peek(), state); break; } // BUILD
                default: throw Error($"unsupported pickle opcode 0x{op:x2} at byte {_pos - 1}");
            }
        }
    }

    private object? MemoGet(long key) => _memo.TryGetValue(key, out var v) ? v : throw Error($"pickle memo key {key} missing");

    private static long ReadLongBytes(ReadOnlySpan<byte> bytes)
    {
        var big = new BigInteger(bytes, isUnsigned: false, isBigEndian: false);
        return big >= long.MinValue && big <= long.MaxValue ? (long)big : throw new OverflowException("integer too large");
    }

    private long ReadLong(int n)
    {
        try { return n == 0 ? 0 : ReadLongBytes(Read(n)); }
        catch (OverflowException) { throw Error("pickle integer does not fit in 64 bits"); }
    }

    // Python refuses unhashable keys; here they would hash by reference, so refuse them the same way.
    private void SetItem(PickleDict d, object? key, object? value)
    {
        if (key is null) throw Error("pickle dict has a None key");
        if (key is PickleDict or List<object?>) throw Error("pickle dict has an unhashable (dict or list) key");
        d.Set(key, value);
    }

    private List<object?> AsList(object? o) => o as List<object?> ?? throw Error("APPEND on a non-list");
    private PickleDict AsDict(object? o) => o as PickleDict ?? throw Error("SETITEM on a non-dict");

    private object ResolveGlobal(string module, string name)
    {
        // Protocol-2 pickles carry Python 2 module names; report them as Python 3 would resolve them (fix_imports).
        module = module switch { "__builtin__" => "builtins", "copy_reg" => "copyreg", _ => module };
        var g = new Global(module, name);
        if (module == "torch" && StorageTypes.ContainsKey(name)) return g;
        if (AllowedCallables.Contains(g.FullName)) return g;
        throw Error($"refused pickle global '{CheckpointText.Clip(g.FullName)}': only tensors and plain containers are loaded, no code is run");
    }

    private object? PersistentLoad(object? pid)
    {
        if (pid is not object?[] t || t.Length < 5 || t[0] as string != "storage")
            throw Error("unsupported persistent id (expected ('storage', type, key, location, numel))");
        if (t[1] is not Global g || g.Module != "torch" || !StorageTypes.TryGetValue(g.Name, out var dtype))
            throw Error($"unsupported storage type {CheckpointText.Clip(t[1]?.ToString() ?? "None")}");
        var key = t[2] as string ?? throw Error("storage key is not a string");
        if (t[4] is not long numel || numel < 0) throw Error("storage size is not a non-negative integer");
        return new PickledStorage(key, dtype, numel);
    }

    private object? Reduce(object? f, object? args)
    {
        if (f is not Global g) throw Error("REDUCE on a value that is not a known callable");
        var a = args as object?[] ?? throw Error($"arguments of {CheckpointText.Clip(g.FullName)} are not a tuple");
        switch (g.FullName)
        {
            case "collections.OrderedDict":
                return new PickleDict();
            case "torch._utils._rebuild_tensor_v2":
            case "torch._utils._rebuild_tensor":
                if (a.Length < 4 || a[0] is not PickledStorage storage || a[1] is not long offset)
                    throw Error($"malformed {g.Name} arguments");
                var shape = Longs(a[2], "size");
                var stride = Longs(a[3], "stride");
                CheckView(storage, offset, shape, stride);
                return new PickledTensor(storage, offset, shape, stride);
            case "torch._utils._rebuild_parameter":
                return a.Length > 0 && a[0] is PickledTensor pt ? pt : throw Error("malformed _rebuild_parameter arguments");
            default:
                throw Error($"refused to call '{CheckpointText.Clip(g.FullName)}'");
        }
    }

    /// <summary>
    /// A view must lie inside its storage and have no more elements than it: loading materialises the view, so an
    /// expanded one (stride 0) could otherwise make a tiny file allocate exabytes. Arithmetic is checked, since
    /// wrapped products would pass the bounds test.
    /// </summary>
    private void CheckView(PickledStorage storage, long offset, long[] shape, long[] stride)
    {
        if (shape.Length != stride.Length) throw Error("tensor size and stride differ in rank");
        if (shape.Length > CheckpointLimits.MaxTensorRank)
            throw Unsafe(CheckpointHazard.TensorRankTooHigh, $"tensor has {shape.Length} dimensions, over the limit of {CheckpointLimits.MaxTensorRank}");
        if (shape.Any(s => s < 0) || stride.Any(s => s < 0) || offset < 0) throw Error("negative tensor size, stride or offset");
        string View() => $"tensor view (offset {offset}, size [{string.Join(", ", shape)}], stride [{string.Join(", ", stride)}])";
        long numel = 1, last = offset;
        try
        {
            foreach (var n in shape) numel = checked(numel * n);
            if (numel == 0) return;
            for (int i = 0; i < shape.Length; i++) last = checked(last + (shape[i] - 1) * stride[i]);
        }
        catch (OverflowException)
        {
            throw Unsafe(CheckpointHazard.ElementCountOverflow, $"{View()} overflows 64-bit element counts");
        }
        if (last >= storage.Numel)
            throw Error($"{View()} runs past its storage of {storage.Numel} elements");
        if (numel > storage.Numel)
            throw Unsafe(CheckpointHazard.ViewLargerThanStorage,
                $"{View()} has {numel} elements but its storage only {storage.Numel}; expanded views are refused");
    }

    private long[] Longs(object? o, string what) =>
        o is object?[] t && t.All(x => x is long) ? t.Select(x => (long)x!).ToArray() : throw Error($"tensor {what} is not a tuple of integers");

    private void Build(object? target, object? state)
    {
        // torch.save applies BUILD only to OrderedDicts (their __dict__, normally empty) and rebuilt tensors.
        if (target is PickleDict || target is PickledTensor) return;
        throw Error("BUILD on an object that is not a dict or tensor");
    }
}

/// <summary>
/// An ordered dictionary as a pickle builds it. Storage is allocated on first use and the hash index only past a few
/// items: a hostile pickle may build millions of (mostly empty) dicts, and each should cost tens of bytes, not hundreds.
/// </summary>
public sealed class PickleDict
{
    private const int IndexFrom = 8;
    private List<KeyValuePair<object?, object?>>? _items;
    private Dictionary<object, int>? _index;

    public IReadOnlyList<KeyValuePair<object?, object?>> Items => (IReadOnlyList<KeyValuePair<object?, object?>>?)_items ?? [];

    internal void Set(object key, object? value)
    {
        _items ??= new List<KeyValuePair<object?, object?>>(1);
        int i = Find(key);
        if (i >= 0) { _items[i] = new(key, value); return; }
        _items.Add(new(key, value));
        if (_index is not null) _index[key] = _items.Count - 1;
        else if (_items.Count > IndexFrom)
        {
            _index = new Dictionary<object, int>(_items.Count * 2);
            for (int j = 0; j < _items.Count; j++) _index[_items[j].Key!] = j;
        }
    }

    private int Find(object key)
    {
        if (_index is not null) return _index.TryGetValue(key, out var i) ? i : -1;
        for (int i = 0; i < _items!.Count; i++)
            if (Equals(_items[i].Key, key)) return i;
        return -1;
    }
}
