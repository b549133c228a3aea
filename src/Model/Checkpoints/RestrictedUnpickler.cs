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
/// </summary>
public sealed class RestrictedUnpickler
{
    private sealed record Global(string Module, string Name)
    {
        public string FullName => $"{Module}.{Name}";
    }

    private sealed class Mark { public static readonly Mark Instance = new(); }

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
    private readonly Dictionary<long, object?> _memo = new();
    private readonly string _source;

    private RestrictedUnpickler(byte[] data, string source) { _data = data; _source = source; }

    /// <summary>Parses one pickle; dicts come back as <c>Dictionary&lt;object, object?&gt;</c> in insertion order (as a list of pairs).</summary>
    public static object? Load(byte[] data, string source) => new RestrictedUnpickler(data, source).Run();

    private CheckpointFormatException Error(string message) => new($"{_source}: {message}");

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

    private object? Pop()
    {
        if (_stack.Count == 0) throw Error("pickle stack underflow");
        var v = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return v;
    }

    private object? Peek() => _stack.Count > 0 ? _stack[^1] : throw Error("pickle stack underflow");

    private List<object?> PopMark()
    {
        int i = _stack.FindLastIndex(x => x is Mark);
        if (i < 0) throw Error("pickle MARK missing");
        var items = _stack.GetRange(i + 1, _stack.Count - i - 1);
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
                case (byte)'(': _stack.Add(Mark.Instance); break; // MARK
                case (byte)'}': _stack.Add(new PickleDict()); break; // EMPTY_DICT
                case (byte)']': _stack.Add(new List<object?>()); break; // EMPTY_LIST
                case (byte)')': _stack.Add(Array.Empty<object?>()); break; // EMPTY_TUPLE
                case (byte)'N': _stack.Add(null); break;
                case 0x88: _stack.Add(true); break;
                case 0x89: _stack.Add(false); break;
                case (byte)'J': _stack.Add((long)BinaryPrimitives.ReadInt32LittleEndian(Read(4))); break; // BININT
                case (byte)'K': _stack.Add((long)ReadByte()); break; // BININT1
                case (byte)'M': _stack.Add((long)BinaryPrimitives.ReadUInt16LittleEndian(Read(2))); break; // BININT2
                case 0x8a: _stack.Add(ReadLong(ReadByte())); break; // LONG1
                case 0x8b: _stack.Add(ReadLong(BinaryPrimitives.ReadInt32LittleEndian(Read(4)))); break; // LONG4
                case (byte)'G': _stack.Add(BinaryPrimitives.ReadDoubleBigEndian(Read(8))); break; // BINFLOAT
                case (byte)'X': _stack.Add(Encoding.UTF8.GetString(Read(BinaryPrimitives.ReadUInt32LittleEndian(Read(4))))); break; // BINUNICODE
                case 0x8c: _stack.Add(Encoding.UTF8.GetString(Read(ReadByte()))); break; // SHORT_BINUNICODE
                case 0x8d: _stack.Add(Encoding.UTF8.GetString(Read((long)BinaryPrimitives.ReadUInt64LittleEndian(Read(8))))); break; // BINUNICODE8
                case (byte)'U': _stack.Add(Encoding.Latin1.GetString(Read(ReadByte()))); break; // SHORT_BINSTRING
                case (byte)'T': _stack.Add(Encoding.Latin1.GetString(Read(BinaryPrimitives.ReadInt32LittleEndian(Read(4))))); break; // BINSTRING
                case (byte)'C': _stack.Add(Read(ReadByte()).ToArray()); break; // SHORT_BINBYTES
                case (byte)'B': _stack.Add(Read(BinaryPrimitives.ReadUInt32LittleEndian(Read(4))).ToArray()); break; // BINBYTES
                case (byte)'q': _memo[ReadByte()] = Peek(); break; // BINPUT
                case (byte)'r': _memo[BinaryPrimitives.ReadUInt32LittleEndian(Read(4))] = Peek(); break; // LONG_BINPUT
                case 0x94: _memo[_memo.Count] = Peek(); break; // MEMOIZE
                case (byte)'h': _stack.Add(MemoGet(ReadByte())); break; // BINGET
                case (byte)'j': _stack.Add(MemoGet(BinaryPrimitives.ReadUInt32LittleEndian(Read(4)))); break; // LONG_BINGET
                case (byte)'t': _stack.Add(PopMark().ToArray()); break; // TUPLE
                case 0x85: _stack.Add(new[] { Pop() }); break; // TUPLE1
                case 0x86: { var b = Pop(); var a = Pop(); _stack.Add(new[] { a, b }); break; } // TUPLE2
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); _stack.Add(new[] { a, b, c }); break; } // TUPLE3
                case (byte)'l': _stack.Add(PopMark()); break; // LIST
                case (byte)'d': { var items = PopMark(); var d = new PickleDict(); for (int i = 0; i + 1 < items.Count; i += 2) d.Set(items[i], items[i + 1]); _stack.Add(d); break; } // DICT
                case (byte)'a': { var v = Pop(); AsList(Peek()).Add(v); break; } // APPEND
                case (byte)'e': { var items = PopMark(); AsList(Peek()).AddRange(items); break; } // APPENDS
                case (byte)'s': { var v = Pop(); var k = Pop(); AsDict(Peek()).Set(k, v); break; } // SETITEM
                case (byte)'u': { var items = PopMark(); var d = AsDict(Peek()); for (int i = 0; i + 1 < items.Count; i += 2) d.Set(items[i], items[i + 1]); break; } // SETITEMS
                case (byte)'c': { var module = ReadLine(); var name = ReadLine(); _stack.Add(ResolveGlobal(module, name)); break; } // GLOBAL
                case 0x93: { var name = Pop() as string; var module = Pop() as string; if (module is null || name is null) throw Error("malformed STACK_GLOBAL"); _stack.Add(ResolveGlobal(module, name)); break; }
                case (byte)'R': { var args = Pop(); var f = Pop(); _stack.Add(Reduce(f, args)); break; } // REDUCE
                case 0x81: { var args = Pop(); var cls = Pop(); _stack.Add(Reduce(cls, args)); break; } // NEWOBJ
                case (byte)'Q': _stack.Add(PersistentLoad(Pop())); break; // BINPERSID
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

    private List<object?> AsList(object? o) => o as List<object?> ?? throw Error("APPEND on a non-list");
    private PickleDict AsDict(object? o) => o as PickleDict ?? throw Error("SETITEM on a non-dict");

    private object ResolveGlobal(string module, string name)
    {
        // Protocol-2 pickles carry Python 2 module names; report them as Python 3 would resolve them (fix_imports).
        module = module switch { "__builtin__" => "builtins", "copy_reg" => "copyreg", _ => module };
        var g = new Global(module, name);
        if (module == "torch" && StorageTypes.ContainsKey(name)) return g;
        if (AllowedCallables.Contains(g.FullName)) return g;
        throw Error($"refused pickle global '{g.FullName}': only tensors and plain containers are loaded, no code is run");
    }

    private object? PersistentLoad(object? pid)
    {
        if (pid is not object?[] t || t.Length < 5 || t[0] as string != "storage")
            throw Error("unsupported persistent id (expected ('storage', type, key, location, numel))");
        if (t[1] is not Global g || g.Module != "torch" || !StorageTypes.TryGetValue(g.Name, out var dtype))
            throw Error($"unsupported storage type {t[1]}");
        var key = t[2] as string ?? throw Error("storage key is not a string");
        if (t[4] is not long numel || numel < 0) throw Error("storage size is not a non-negative integer");
        return new PickledStorage(key, dtype, numel);
    }

    private object? Reduce(object? f, object? args)
    {
        if (f is not Global g) throw Error("REDUCE on a value that is not a known callable");
        var a = args as object?[] ?? throw Error($"arguments of {g.FullName} are not a tuple");
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
                if (shape.Length != stride.Length) throw Error("tensor size and stride differ in rank");
                if (shape.Any(s => s < 0) || stride.Any(s => s < 0) || offset < 0) throw Error("negative tensor size, stride or offset");
                long last = offset;
                bool empty = shape.Any(s => s == 0);
                for (int i = 0; i < shape.Length; i++) if (shape[i] > 0) last += (shape[i] - 1) * stride[i];
                if (!empty && last >= storage.Numel)
                    throw Error($"tensor view (offset {offset}, size [{string.Join(", ", shape)}], stride [{string.Join(", ", stride)}]) runs past its storage of {storage.Numel} elements");
                return new PickledTensor(storage, offset, shape, stride);
            case "torch._utils._rebuild_parameter":
                return a.Length > 0 && a[0] is PickledTensor pt ? pt : throw Error("malformed _rebuild_parameter arguments");
            default:
                throw Error($"refused to call '{g.FullName}'");
        }
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

/// <summary>An ordered dictionary as a pickle builds it.</summary>
public sealed class PickleDict
{
    private readonly List<KeyValuePair<object?, object?>> _items = new();
    private readonly Dictionary<object, int> _index = new();

    public IReadOnlyList<KeyValuePair<object?, object?>> Items => _items;

    public void Set(object? key, object? value)
    {
        var k = key ?? throw new CheckpointFormatException("pickle dict has a None key");
        if (_index.TryGetValue(k, out var i)) _items[i] = new(key, value);
        else { _index[k] = _items.Count; _items.Add(new(key, value)); }
    }
}
