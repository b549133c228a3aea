#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Mono.Cecil;
using Mono.Cecil.Cil;

// TorchSharp 0.107 hands `tensor.Handle` / `scalar.Handle` to native code and never calls GC.KeepAlive, so a
// temporary whose last managed use was reading its handle may be finalised by another thread's garbage
// collection while libtorch still reads it. Every `a + b` is exposed: Tensor.add(Tensor) passes a fresh
// Scalar alpha = 1 that nothing roots. The failures are rare and random ("Expected false to be true", "Unknown
// scalar type", use-after-free); tests/Model.Tests/Runtime/NativeArgumentLifetimeTests.cs provokes them.
//
// This rewrites the copy of TorchSharp.dll placed in an output folder (never the package cache): each method
// that takes a Tensor or Scalar (as `this`, a parameter or an array of them) calls GC.KeepAlive on them just
// before it returns — the fix TorchSharp itself would need. Behaviour is otherwise unchanged. Idempotent: a
// patched assembly carries the marker type TorchSharp.NativeArgumentsKeptAlive and is left alone.
public class TorchSharpKeepAlivePatch : Task
{
    private const string MarkerNamespace = "TorchSharp";
    private const string MarkerName = "NativeArgumentsKeptAlive";

    private static readonly HashSet<string> Tracked = new(StringComparer.Ordinal)
    {
        "TorchSharp.torch/Tensor", "TorchSharp.Modules.Parameter", "TorchSharp.Scalar",
    };

    public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();

    public override bool Execute()
    {
        foreach (var item in Files)
        {
            var path = item.GetMetadata("FullPath");
            try
            {
                var methods = Patch(path);
                if (methods > 0)
                    Log.LogMessage(MessageImportance.Normal, $"TorchSharp keep-alive patch: {methods} methods in {path}");
            }
            catch (Exception e)
            {
                Log.LogError($"Could not patch {path} (TorchSharp keep-alive): {e.Message}");
                return false;
            }
        }
        return !Log.HasLoggedErrors;
    }

    /// <returns>how many methods were rewritten; 0 if the file was already patched.</returns>
    private static int Patch(string path)
    {
        var resolver = new DefaultAssemblyResolver();
        resolver.AddSearchDirectory(Path.GetDirectoryName(path)!);
        using var assembly = AssemblyDefinition.ReadAssembly(path,
            new ReaderParameters { InMemory = true, AssemblyResolver = resolver, ReadSymbols = false });
        var module = assembly.MainModule;
        if (module.GetType(MarkerNamespace, MarkerName) != null) return 0;

        var gc = new TypeReference("System", "GC", module, module.TypeSystem.CoreLibrary);
        var keepAlive = new MethodReference("KeepAlive", module.TypeSystem.Void, gc);
        keepAlive.Parameters.Add(new ParameterDefinition(module.TypeSystem.Object));
        keepAlive = module.ImportReference(keepAlive);

        int patched = 0;
        foreach (var type in module.GetTypes().ToList())
            foreach (var method in type.Methods)
                if (method.HasBody && AddKeepAlives(method, keepAlive)) patched++;

        module.Types.Add(new TypeDefinition(MarkerNamespace, MarkerName,
            TypeAttributes.NotPublic | TypeAttributes.Abstract | TypeAttributes.Sealed, module.TypeSystem.Object));
        var temp = path + ".keepalive.tmp";
        assembly.Write(temp);
        File.Copy(temp, path, overwrite: true);
        File.Delete(temp);
        return patched;
    }

    private static bool AddKeepAlives(MethodDefinition method, MethodReference keepAlive)
    {
        var body = method.Body;
        var kept = new List<ParameterDefinition>();
        if (method.HasThis && !method.DeclaringType.IsValueType && Tracked.Contains(method.DeclaringType.FullName))
            kept.Add(body.ThisParameter);
        kept.AddRange(method.Parameters.Where(p => IsTracked(p.ParameterType)));
        if (kept.Count == 0) return false;
        // A tail call must be followed directly by its ret; nothing can go between (C# never emits one; be sure).
        if (body.Instructions.Any(i => i.OpCode.Code == Code.Tail)) return false;

        // Long branch forms first: the inserted instructions may push short branch targets out of range.
        foreach (var i in body.Instructions)
            if (LongBranch.TryGetValue(i.OpCode.Code, out var wide)) i.OpCode = wide;
        var il = body.GetILProcessor();
        foreach (var ret in body.Instructions.Where(i => i.OpCode == OpCodes.Ret).ToList())
        {
            // The ret instruction becomes the first load so that branches aimed at it still land before the
            // keep-alives; the return value, if any, stays on the stack underneath them.
            ret.OpCode = OpCodes.Ldarg;
            ret.Operand = kept[0];
            var last = ret;
            for (int k = 0; k < kept.Count; k++)
            {
                if (k > 0) last = InsertAfter(il, last, Instruction.Create(OpCodes.Ldarg, kept[k]));
                last = InsertAfter(il, last, Instruction.Create(OpCodes.Call, keepAlive));
            }
            InsertAfter(il, last, Instruction.Create(OpCodes.Ret));
        }
        return true;
    }

    // Mono.Cecil.Rocks has this too, but MSBuild may already hold another Cecil whose Rocks does not match.
    private static readonly Dictionary<Code, OpCode> LongBranch = new()
    {
        [Code.Br_S] = OpCodes.Br, [Code.Brfalse_S] = OpCodes.Brfalse, [Code.Brtrue_S] = OpCodes.Brtrue,
        [Code.Beq_S] = OpCodes.Beq, [Code.Bge_S] = OpCodes.Bge, [Code.Bgt_S] = OpCodes.Bgt, [Code.Ble_S] = OpCodes.Ble,
        [Code.Blt_S] = OpCodes.Blt, [Code.Bne_Un_S] = OpCodes.Bne_Un, [Code.Bge_Un_S] = OpCodes.Bge_Un,
        [Code.Bgt_Un_S] = OpCodes.Bgt_Un, [Code.Ble_Un_S] = OpCodes.Ble_Un, [Code.Blt_Un_S] = OpCodes.Blt_Un,
        [Code.Leave_S] = OpCodes.Leave,
    };

    private static Instruction InsertAfter(ILProcessor il, Instruction at, Instruction added)
    {
        il.InsertAfter(at, added);
        return added;
    }

    private static bool IsTracked(TypeReference type) => type switch
    {
        ByReferenceType => false,
        ArrayType array => IsTracked(array.ElementType),
        _ => Tracked.Contains(type.FullName),
    };
}
