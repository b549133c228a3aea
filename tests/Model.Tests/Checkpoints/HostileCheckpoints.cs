using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using SelfForcing.Model.Checkpoints;
using static TorchSharp.torch;

namespace SelfForcing.Model.Tests.Checkpoints;

/// <summary>
/// Checkpoints built to exhaust a reader (issue 9): cycles, absurd nesting, 2^40 memo paths, memo/stack floods,
/// storages larger than their entries, zip bombs, hostile safetensors headers. Each case names the hazard the reader
/// must report (null: any <see cref="CheckpointFormatException"/>). Shared by the library and CLI tests.
/// </summary>
public static class HostileCheckpoints
{
    /// <summary>One hostile file; <paramref name="Mentions"/> is text the one-line refusal must contain besides the path.</summary>
    public sealed record Case(string File, CheckpointHazard? Hazard, Action<string> Write, string? Mentions = null);

    public static readonly IReadOnlyList<Case> All =
    [
        new("self_containing_dict.pt", CheckpointHazard.Cycle, p => Zip(p,
            new PickleBuilder().EmptyDict().Put(0).Str("a").Get(0).SetItem().Stop())),
        new("dict_cycle_through_child.pt", CheckpointHazard.Cycle, p => Zip(p,
            new PickleBuilder().EmptyDict().Put(0).Str("a").EmptyDict().Str("b").Get(0).SetItem().SetItem().Stop())),
        new("self_containing_list.pt", CheckpointHazard.Cycle, p => Zip(p,
            new PickleBuilder().EmptyDict().Str("x").EmptyList().Put(1).Get(1).Append().SetItem().Stop())),
        new("nested_dicts_200000.pt", CheckpointHazard.NestingTooDeep, p => Zip(p, NestedViaMemo(200_000))),
        new("nested_dicts_on_stack_200000.pt", CheckpointHazard.PickleStackTooLarge, p => Zip(p, NestedOnStack(200_000))),
        new("shared_dicts_40_levels.pt", CheckpointHazard.SharedDict, p => Zip(p, SharedDicts(40))),
        new("memo_flood.pt", CheckpointHazard.MemoTooLarge, p => Zip(p, Repeat(new PickleBuilder().None(), CheckpointLimits.MaxMemoEntries + 1, b => b.Memoize()).Stop())),
        new("stack_flood.pt", CheckpointHazard.PickleStackTooLarge, p => Zip(p, Repeat(new PickleBuilder(), CheckpointLimits.MaxPickleStack + 1, b => b.None()).Stop())),
        new("mark_flood.pt", CheckpointHazard.PickleStackTooLarge, p => Zip(p, Repeat(new PickleBuilder(), CheckpointLimits.MaxPickleStack + 1, b => b.Mark()).Stop())),
        new("object_flood.pt", CheckpointHazard.TooManyObjects, p => Zip(p,
            Repeat(new PickleBuilder().EmptyDict().Str("x").EmptyList(), CheckpointLimits.MaxObjects, b => b.None().Append()).SetItem().Stop())),
        new("storage_larger_than_entry.pt", CheckpointHazard.StorageLargerThanEntry, p => Zip(p,
            OneTensor(numel: 1000, shape: [1000], stride: [1]), new byte[16])),
        new("storage_numel_overflows.pt", CheckpointHazard.StorageLargerThanEntry, p => Zip(p,
            OneTensor(numel: 1L << 62, shape: [1L << 62], stride: [1]), new byte[16])),
        new("expanded_view.pt", CheckpointHazard.ViewLargerThanStorage, p => Zip(p,
            OneTensor(numel: 1, shape: [1L << 40], stride: [0]), new byte[4])),
        new("view_shape_overflows.pt", CheckpointHazard.ElementCountOverflow, p => Zip(p,
            OneTensor(numel: 1, shape: [1L << 32, 1L << 32, 1L << 32], stride: [0, 0, 0]), new byte[4])),
        new("zip_bomb_storage.pt", CheckpointHazard.CompressedEntry, p => TorchZipTestWriter.WriteRaw(p,
            OneTensor(numel: BombBytes / 4, shape: [BombBytes / 4], stride: [1]), [new byte[BombBytes]], storageCompression: CompressionLevel.Optimal),
            "zip_bomb_storage/data/0"),
        new("zip_bomb_pickle.pt", CheckpointHazard.CompressedEntry, p => TorchZipTestWriter.WriteRaw(p,
            new PickleBuilder().EmptyDict().Str("note").Str(new string('a', 4 << 20)).SetItem().Stop(), [], pickleCompression: CompressionLevel.Optimal),
            "zip_bomb_pickle/data.pkl"),
        new("too_many_zip_entries.pt", CheckpointHazard.TooManyZipEntries, p => ZipDirectoryFlood(p, CheckpointLimits.MaxZipEntries + 1)),
        new("st_header_length_huge.safetensors", CheckpointHazard.HeaderTooLarge, p => SafeTensors(p, ulong.MaxValue - 7, "{}", 0)),
        new("st_header_past_end.safetensors", CheckpointHazard.HeaderTooLarge, p => SafeTensors(p, 1 << 20, "{}", 0)),
        new("st_overlapping_offsets.safetensors", CheckpointHazard.OverlappingTensors, p => SafeTensors(p,
            """{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}""", 24)),
        new("st_offsets_out_of_range.safetensors", CheckpointHazard.OffsetsOutOfRange, p => SafeTensors(p,
            """{"a":{"dtype":"F32","shape":[1],"data_offsets":[4611686018427387900,4611686018427387904]}}""", 8)),
        new("st_negative_offsets.safetensors", CheckpointHazard.OffsetsOutOfRange, p => SafeTensors(p,
            """{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}""", 8)),
        new("st_shape_overflows.safetensors", CheckpointHazard.ElementCountOverflow, p => SafeTensors(p,
            """{"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}}""", 4)),
        new("st_rank_bomb.safetensors", CheckpointHazard.TensorRankTooHigh, p => SafeTensors(p,
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[" + string.Join(",", Enumerable.Repeat("1", 100_000)) + "],\"data_offsets\":[0,4]}}", 4)),
        new("st_json_nesting.safetensors", null, p => SafeTensors(p,
            "{\"a\":" + new string('[', 200_000) + new string(']', 200_000) + "}", 0)),
    ];

    public static Case Get(string file) => All.Single(c => c.File == file);

    public static IEnumerable<object[]> Names() => All.Select(c => new object[] { c.File });

    private const int BombBytes = 64 << 20;

    /// <summary>Level i+1 is added to level i through the memo and level i is dropped again, so the pickle stack stays at two.</summary>
    public static byte[] NestedViaMemo(int levels)
    {
        var b = new PickleBuilder().EmptyDict().Put(0);
        for (uint i = 0; i < levels; i++) b.Get(i).Str("k").EmptyDict().Put(i + 1).SetItem().Drop();
        return b.Stop();
    }

    /// <summary>Nesting as Python's pickler writes it: each level's MARK, key and dict stay on the stack until the end.</summary>
    public static byte[] NestedOnStack(int levels)
    {
        var b = new PickleBuilder().EmptyDict();
        for (int i = 0; i < levels; i++) b.Mark().Str("k").EmptyDict();
        for (int i = 0; i < levels; i++) b.SetItems();
        return b.Stop();
    }

    /// <summary>d0 = {}; d(k) = {'a': d(k-1), 'b': d(k-1)}: k+1 dicts, 2^k paths from the root to d0.</summary>
    public static byte[] SharedDicts(int levels)
    {
        var b = new PickleBuilder().EmptyDict().Put(0); // d0 stays at the bottom, under each level while it is built
        for (uint k = 1; k <= levels; k++)
            b.EmptyDict().Put(k).Str("a").Get(k - 1).SetItem().Str("b").Get(k - 1).SetItem().Drop();
        return b.Get((uint)levels).Stop();
    }

    /// <summary>The same sharing made of tuples (t(k) = (t(k-1), t(k-1))) under one key: legal, and must be read in one visit per tuple.</summary>
    public static byte[] SharedTuples(int levels)
    {
        var b = new PickleBuilder().EmptyDict().Put(0).Str("leaf").Put(1).Drop(); // leaf = memo 1, t(k) = memo k+1
        for (uint k = 1; k <= levels; k++) b.Get(k).Get(k).Tuple2().Put(k + 1).Drop();
        return b.Str("paths").Get((uint)levels + 1).SetItem().Stop();
    }

    private static PickleBuilder Repeat(PickleBuilder b, int n, Action<PickleBuilder> step)
    {
        for (int i = 0; i < n; i++) step(b);
        return b;
    }

    private static byte[] OneTensor(long numel, long[] shape, long[] stride) =>
        new PickleBuilder().EmptyDict().Str("w").Tensor("0", numel, shape, stride).SetItem().Stop();

    private static void Zip(string path, byte[] pickle, params byte[][] storages) => TorchZipTestWriter.WriteRaw(path, pickle, storages);

    /// <summary>A zip whose central directory holds <paramref name="records"/> empty-named records (and an end record that says 0xFFFF).</summary>
    private static void ZipDirectoryFlood(string path, int records)
    {
        using var fs = File.Create(path);
        fs.Write([(byte)'P', (byte)'K', 3, 4]);
        fs.Write(new byte[26]); // the rest of a local header, never read
        long start = fs.Position;
        var record = new byte[46];
        BinaryPrimitives.WriteUInt32LittleEndian(record, 0x02014b50);
        for (int i = 0; i < records; i++) fs.Write(record);
        var end = new byte[22];
        BinaryPrimitives.WriteUInt32LittleEndian(end, 0x06054b50);
        BinaryPrimitives.WriteUInt16LittleEndian(end.AsSpan(8), ushort.MaxValue);
        BinaryPrimitives.WriteUInt16LittleEndian(end.AsSpan(10), ushort.MaxValue);
        BinaryPrimitives.WriteUInt32LittleEndian(end.AsSpan(12), (uint)(fs.Position - start));
        BinaryPrimitives.WriteUInt32LittleEndian(end.AsSpan(16), (uint)start);
        fs.Write(end);
    }

    private static void SafeTensors(string path, string header, int dataBytes) =>
        SafeTensors(path, (ulong)Encoding.UTF8.GetByteCount(header), header, dataBytes);

    private static void SafeTensors(string path, ulong declaredHeaderLength, string header, int dataBytes)
    {
        using var fs = File.Create(path);
        fs.Write(BitConverter.GetBytes(declaredHeaderLength));
        fs.Write(Encoding.UTF8.GetBytes(header));
        fs.Write(new byte[dataBytes]);
    }

    /// <summary>A small well-formed checkpoint; its tensors are returned so a reader's result can be compared.</summary>
    public static Dictionary<string, Tensor> WriteGood(string path)
    {
        var tensors = new Dictionary<string, Tensor>
        {
            ["w"] = arange(6, dtype: ScalarType.Float32).reshape(2, 3),
            ["b"] = full(3, 0.5f, dtype: ScalarType.Float32),
        };
        TorchZipTestWriter.Write(path, new Dictionary<string, object>
        {
            ["model"] = new Dictionary<string, object> { ["w"] = tensors["w"], ["b"] = tensors["b"] },
        });
        return tensors;
    }
}
