using System.Text;

namespace SelfForcing.Model.Tests.Checkpoints;

/// <summary>Writes pickle opcodes by hand (protocol 2), so tests can build structures no pickler would emit.</summary>
public sealed class PickleBuilder
{
    private readonly MemoryStream _s = new();

    public PickleBuilder() => _s.Write([0x80, 0x02]);

    public PickleBuilder Op(char opcode) { _s.WriteByte((byte)opcode); return this; }
    public PickleBuilder Op(byte opcode) { _s.WriteByte(opcode); return this; }

    public PickleBuilder EmptyDict() => Op('}');
    public PickleBuilder EmptyList() => Op(']');
    public PickleBuilder Mark() => Op('(');
    public PickleBuilder None() => Op('N');
    public PickleBuilder SetItem() => Op('s');
    public PickleBuilder SetItems() => Op('u');
    public PickleBuilder Append() => Op('a');
    public PickleBuilder Tuple() => Op('t');
    public PickleBuilder Tuple2() => Op(0x86);
    /// <summary>
    /// BUILD with a dict below the top: the reader discards the top value. Used as POP, which the reader before issue 9
    /// did not know, so these files reach its structure walk instead of an unsupported-opcode error.
    /// </summary>
    public PickleBuilder Drop() => Op('b');
    public PickleBuilder Memoize() => Op(0x94);

    public PickleBuilder Str(string v)
    {
        var b = Encoding.UTF8.GetBytes(v);
        _s.WriteByte((byte)'X');
        _s.Write(BitConverter.GetBytes((uint)b.Length));
        _s.Write(b);
        return this;
    }

    public PickleBuilder Int(long v)
    {
        _s.WriteByte(0x8a);
        _s.WriteByte(8);
        _s.Write(BitConverter.GetBytes(v));
        return this;
    }

    /// <summary>LONG_BINPUT: memo[key] = top of stack.</summary>
    public PickleBuilder Put(uint key) { _s.WriteByte((byte)'r'); _s.Write(BitConverter.GetBytes(key)); return this; }

    /// <summary>LONG_BINGET: push memo[key].</summary>
    public PickleBuilder Get(uint key) { _s.WriteByte((byte)'j'); _s.Write(BitConverter.GetBytes(key)); return this; }

    public PickleBuilder Global(string module, string name)
    {
        _s.Write(Encoding.ASCII.GetBytes($"c{module}\n{name}\n"));
        return this;
    }

    /// <summary>A float32 tensor as torch.save pickles it: <c>_rebuild_tensor_v2(('storage', FloatStorage, key, 'cpu', numel), offset, shape, stride, False, OrderedDict())</c>.</summary>
    public PickleBuilder Tensor(string storageKey, long numel, long[] shape, long[] stride, long offset = 0)
    {
        Global("torch._utils", "_rebuild_tensor_v2").Mark();
        Mark().Str("storage").Global("torch", "FloatStorage").Str(storageKey).Str("cpu").Int(numel).Tuple().Op('Q');
        Int(offset);
        Mark(); foreach (var v in shape) Int(v); Tuple();
        Mark(); foreach (var v in stride) Int(v); Tuple();
        Op(0x89);
        Global("collections", "OrderedDict").Op(')').Op('R');
        return Tuple().Op('R');
    }

    public byte[] Stop()
    {
        _s.WriteByte((byte)'.');
        return _s.ToArray();
    }
}
