#!/usr/bin/env python3
"""Times the reference Self-Forcing code (github.com/guandeh17/Self-Forcing) on the CPU, on the shapes that
`selfforcing bench` times, so that benchmarks/side_by_side.sh can print C# / reference ratios.

It runs the reference's own modules, loaded from a checkout (--ref-dir), with random weights in float32:
  dit    wan/modules/causal_model.py CausalWanModel._forward_inference with the reference's kv_cache /
         crossattn_cache dicts: per chunk, N denoising calls + 1 context pass (timestep 0) at the same
         current_start, each call's output fed back as the next input (the DiT alone, no scheduler: as the C# bench).
  vae    wan/modules/vae.py WanVAE_.cached_decode, chunk after chunk with the causal-conv cache kept
         (what utils/wan_wrapper.py decode_to_pixel(use_cache=True) calls).
  taehv  demo_utils/taehv.py TAEHV.decode_video per chunk; --taehv-mode parallel (all frames of the chunk at once,
         the same work as the C# decoder) or sequential (parallel=False: what demo.py calls).

What is substituted, and why (Debian's python3-torch is PyTorch 1.13, CPU only):
  * attention: the reference calls flex_attention (torch >= 2.5), flash-attn, or torch's
    scaled_dot_product_attention (torch >= 2.0); 1.13 has none of them. Both `attention` (self-attention over the
    KV cache) and `flash_attention` (cross-attention) are replaced by one exact attention,
    softmax(q k^T / sqrt(d)) v in float32, materialising the score matrix. It is exact (no mask is needed on the
    inference path: the KV cache holds only past and current tokens) but slower than a fused kernel: the C#
    side uses libtorch's fused scaled_dot_product_attention.
    Note: the reference's SDPA fallback would cast q/k/v to bfloat16; here they stay float32, like the C# side.
    The Wan VAE's middle attention block calls F.scaled_dot_product_attention unmasked: the same exact attention
    in that layout stands in for it.
  * torch.compile (used to wrap flex_attention at import) does not exist in 1.13: it becomes the identity.
  * diffusers' ModelMixin/ConfigMixin/register_to_config, einops (rearrange/repeat, the patterns the loaded files use)
    and tqdm are not installed: small stand-ins below. No model code is changed.
  * TAEHV's decoder widths are a literal in its __init__ (n_f = [256, 128, 64, 64]); --taehv-nf rewrites that
    one literal when the file is loaded, to time the same `mid` size as the C# bench.
Prints one line: RESULT work=... ms_per_chunk=<median wall> cpu_ms_per_chunk=<median process CPU> peak_rss_bytes=...
"""
import argparse
import importlib.util
import math
import os
import resource
import sys
import time
import types

import torch
import torch.nn as nn


def install_stand_ins():
    if not hasattr(torch, "compile"):
        torch.compile = lambda fn, *a, **kw: fn
    if not hasattr(torch.nn.functional, "scaled_dot_product_attention"):  # the Wan VAE's middle attention block calls it
        torch.nn.functional.scaled_dot_product_attention = exact_sdpa

    flex = types.ModuleType("torch.nn.attention.flex_attention")

    def unavailable(*a, **kw):
        raise RuntimeError("flex_attention is not available in this torch; the inference path must not call it")

    flex.create_block_mask = unavailable
    flex.flex_attention = unavailable
    flex.BlockMask = type("BlockMask", (), {})
    attn_pkg = types.ModuleType("torch.nn.attention")
    attn_pkg.flex_attention = flex
    sys.modules.setdefault("torch.nn.attention", attn_pkg)
    sys.modules["torch.nn.attention.flex_attention"] = flex

    cu = types.ModuleType("diffusers.configuration_utils")
    cu.ConfigMixin = type("ConfigMixin", (), {})
    cu.register_to_config = lambda init: init
    mu = types.ModuleType("diffusers.models.modeling_utils")
    mu.ModelMixin = nn.Module
    for name, mod in {"diffusers": types.ModuleType("diffusers"), "diffusers.models": types.ModuleType("diffusers.models"),
                      "diffusers.configuration_utils": cu, "diffusers.models.modeling_utils": mu}.items():
        sys.modules.setdefault(name, mod)

    einops = types.ModuleType("einops")

    def rearrange(x, pattern, **axes):
        p = " ".join(pattern.replace("->", " -> ").split())
        if p == "b c t h w -> (b t) c h w":
            b, c, t, h, w = x.shape
            return x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)
        if p == "(b t) c h w -> b c t h w":
            bt, c, h, w = x.shape
            t = axes["t"]
            return x.reshape(bt // t, t, c, h, w).permute(0, 2, 1, 3, 4)
        raise NotImplementedError(f"einops stand-in: pattern {pattern!r}")

    def repeat(x, pattern, **axes):
        if " ".join(pattern.split()) == "n d -> b n d":
            return x.unsqueeze(0).expand(axes["b"], *x.shape)
        raise NotImplementedError(f"einops stand-in: pattern {pattern!r}")

    einops.rearrange, einops.repeat = rearrange, repeat
    sys.modules.setdefault("einops", einops)

    tq = types.ModuleType("tqdm.auto")

    class tqdm:
        def __init__(self, iterable=None, *a, **kw):
            self.iterable = iterable

        def __iter__(self):
            return iter(self.iterable)

        def update(self, n=1):
            pass

        def close(self):
            pass

    tq.tqdm = tqdm
    sys.modules.setdefault("tqdm", types.ModuleType("tqdm"))
    sys.modules["tqdm.auto"] = tq


def exact_attention(q, k, v, *args, **kwargs):
    """[B, Lq, N, D] x [B, Lk, N, D] -> [B, Lq, N, D]: softmax(q k^T / sqrt(D)) v, no mask (none on the inference path)."""
    qh, kh, vh = (t.transpose(1, 2).float() for t in (q, k, v))
    scores = torch.matmul(qh, kh.transpose(-1, -2)) * (1.0 / math.sqrt(q.shape[-1]))
    return torch.matmul(scores.softmax(-1), vh).transpose(1, 2).type_as(q).contiguous()


def exact_sdpa(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, **kwargs):
    """torch 2's F.scaled_dot_product_attention for the unmasked, dropout-free call: [..., L, D] layout."""
    assert attn_mask is None and dropout_p == 0.0 and not is_causal, "stand-in covers only the unmasked call"
    scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(q.shape[-1]))
    return torch.matmul(scores.softmax(-1), v)


def load_wan(ref_dir):
    """The reference's wan.modules.* without wan/__init__.py (which imports the full text2video stack)."""
    for name, sub in (("wan", "wan"), ("wan.modules", "wan/modules")):
        pkg = types.ModuleType(name)
        pkg.__path__ = [os.path.join(ref_dir, sub)]
        sys.modules[name] = pkg
    import wan.modules.attention as attention_mod
    import wan.modules.model as model_mod
    import wan.modules.causal_model as causal_mod
    causal_mod.attention = exact_attention
    model_mod.flash_attention = exact_attention
    attention_mod.flash_attention = exact_attention
    return causal_mod


def load_file(path, name, replace=None):
    src = open(path).read()
    for old, new in (replace or {}).items():
        assert old in src, f"{old!r} not found in {path}"
        src = src.replace(old, new)
    mod = types.ModuleType(name)
    mod.__file__ = path
    sys.modules[name] = mod
    exec(compile(src, path, "exec"), mod.__dict__)
    return mod


def time_chunks(run_chunk, chunks):
    """Runs chunk 0 (warm-up, not counted) .. chunks; returns median wall ms and median process CPU ms of the timed ones."""
    walls, cpus = [], []
    for c in range(chunks + 1):
        w0, c0 = time.perf_counter(), time.process_time()
        run_chunk(c)
        w, cp = (time.perf_counter() - w0) * 1000, (time.process_time() - c0) * 1000
        print(f"  chunk {c}: {w:.1f} ms wall, {cp:.0f} ms cpu" + (" (warm-up)" if c == 0 else ""), flush=True)
        if c > 0:
            walls.append(w)
            cpus.append(cp)
    med = lambda xs: sorted(xs)[len(xs) // 2] if len(xs) % 2 else sum(sorted(xs)[len(xs) // 2 - 1:len(xs) // 2 + 1]) / 2
    return med(walls), med(cpus)


def bench_dit(a):
    causal = load_wan(a.ref_dir)
    # `small` = the 1.3B layout (head dim 128, 12 heads at dim 1536) at dim 768, 6 heads, 12 layers.
    presets = {"small": dict(dim=768, ffn_dim=3072, num_heads=6, num_layers=12),
               "1.3b": dict(dim=1536, ffn_dim=8960, num_heads=12, num_layers=30)}
    torch.manual_seed(0)
    model = causal.CausalWanModel(model_type="t2v", patch_size=(1, 2, 2), text_len=512, in_dim=16, freq_dim=256, text_dim=4096,
                                  out_dim=16, local_attn_size=-1, sink_size=0, qk_norm=True, cross_attn_norm=True, eps=1e-6,
                                  **presets[a.config]).eval()
    heads, head_dim = model.num_heads, model.dim // model.num_heads
    frames, h, w = 3, a.latent_height, a.latent_width
    frame_tokens = (h // 2) * (w // 2)
    cache_tokens = (a.chunks + 1) * frames * frame_tokens
    kv = [dict(k=torch.zeros(1, cache_tokens, heads, head_dim), v=torch.zeros(1, cache_tokens, heads, head_dim),
               global_end_index=torch.tensor([0]), local_end_index=torch.tensor([0])) for _ in range(model.num_layers)]
    cross = [dict(k=torch.zeros(1, 512, heads, head_dim), v=torch.zeros(1, 512, heads, head_dim), is_init=False)
             for _ in range(model.num_layers)]
    context = [torch.randn(512, 4096)]
    params = sum(p.numel() for p in model.parameters())
    print(f"reference CausalWanModel {a.config}: {params:,} parameters, latent {h}x{w}, {frames} frames/chunk, "
          f"{a.steps} steps + context pass, threads {torch.get_num_threads()}", flush=True)

    def chunk(c):
        start = c * frames * frame_tokens
        x = torch.randn(1, 16, frames, h, w)
        for step in range(a.steps):
            t = torch.full((1, frames), 1000.0 - 250.0 * step)
            x = model(x, t=t, context=context, seq_len=cache_tokens, kv_cache=kv, crossattn_cache=cross, current_start=start,
                      cache_start=start)
        model(x, t=torch.zeros(1, frames), context=context, seq_len=cache_tokens, kv_cache=kv, crossattn_cache=cross,
              current_start=start, cache_start=start)

    return time_chunks(chunk, a.chunks)


def bench_vae(a):
    load_wan(a.ref_dir)
    import wan.modules.vae as vae_mod
    torch.manual_seed(1)
    sizes = {"tiny": dict(dim=8, dim_mult=[1, 2, 2, 2], num_res_blocks=1), "mid": dict(dim=32), "real": dict(dim=96)}
    cfg = dict(dim=96, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[], temperal_downsample=[False, True, True],
               dropout=0.0)
    cfg.update(sizes[a.decoder_size])
    vae = vae_mod.WanVAE_(**cfg).eval()
    del vae.encoder  # decoder only, like the C# bench (clear_cache still counts the encoder's convs: give it an empty one)
    vae.encoder = nn.Sequential()
    vae.clear_cache()
    scale = [torch.zeros(16), torch.ones(16)]
    print(f"reference WanVAE_ decoder {a.decoder_size}: {sum(p.numel() for p in vae.parameters()):,} parameters, "
          f"latent {a.latent_height}x{a.latent_width}, {a.latent_frames} latent frames/chunk, threads {torch.get_num_threads()}", flush=True)

    def chunk(c):
        z = torch.randn(1, 16, a.latent_frames, a.latent_height, a.latent_width)
        vae.cached_decode(z, scale).float().clamp_(-1, 1)

    return time_chunks(chunk, a.chunks)


def bench_taehv(a):
    nf = [int(x) for x in a.taehv_nf.split(",")]
    mod = load_file(os.path.join(a.ref_dir, "demo_utils", "taehv.py"), "ref_taehv", {"n_f = [256, 128, 64, 64]": f"n_f = {nf!r}"})
    torch.manual_seed(1)
    taehv = mod.TAEHV(checkpoint_path=None).eval()
    with torch.no_grad():
        for p in taehv.decoder.parameters():
            p.copy_(torch.randn(p.shape) * 0.05)
    print(f"reference TAEHV decoder n_f {nf}, mode {a.taehv_mode}: {sum(p.numel() for p in taehv.decoder.parameters()):,} parameters, "
          f"latent {a.latent_height}x{a.latent_width}, {a.latent_frames} latent frames/chunk, threads {torch.get_num_threads()}", flush=True)

    def chunk(c):
        z = torch.randn(1, a.latent_frames, 16, a.latent_height, a.latent_width)
        taehv.decode_video(z, parallel=a.taehv_mode == "parallel").mul_(2).sub_(1)

    return time_chunks(chunk, a.chunks)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ref-dir", required=True, help="checkout of github.com/guandeh17/Self-Forcing")
    p.add_argument("--work", choices=["dit", "vae", "taehv"], required=True)
    p.add_argument("--config", default="small", choices=["small", "1.3b"])
    p.add_argument("--latent-height", type=int, default=30)
    p.add_argument("--latent-width", type=int, default=52)
    p.add_argument("--chunks", type=int, default=2, help="timed chunks after one warm-up chunk")
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--latent-frames", type=int, default=3)
    p.add_argument("--decoder-size", default="mid", choices=["tiny", "mid", "real"])
    p.add_argument("--taehv-nf", default="128,64,32,32", help="TAEHV decoder widths (mid: 128,64,32,32; real: 256,128,64,64)")
    p.add_argument("--taehv-mode", default="parallel", choices=["parallel", "sequential"])
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    install_stand_ins()
    with torch.no_grad():
        wall, cpu = {"dit": bench_dit, "vae": bench_vae, "taehv": bench_taehv}[a.work](a)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"RESULT side=ref work={a.work} ms_per_chunk={wall:.1f} cpu_ms_per_chunk={cpu:.0f} peak_rss_bytes={peak} "
          f"torch={torch.__version__} blas={os.environ.get('SF_REF_BLAS', 'default')}", flush=True)


if __name__ == "__main__":
    main()
