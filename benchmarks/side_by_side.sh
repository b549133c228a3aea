#!/usr/bin/env bash
# C# vs the reference PyTorch code, side by side on this machine: same configs and shapes, random weights, float32,
# the same thread count, runs interleaved (C# first in even rounds, the reference first in odd ones), medians.
#   DiT chunk: 4 denoising steps + the context pass, `small` config (1.3B block layout at dim 768, 12 layers), 30x52 latents
#   decoders:  Wan VAE `mid` (dim 32) and TAEHV `mid` (n_f 128/64/32/32), 30x52 latents, 3 latent frames per chunk
# The reference runs under Debian's python3-torch (PyTorch 1.13, CPU) through benchmarks/reference/ref_bench.py,
# which loads the reference's own model files and says exactly what it substitutes (attention: no flex/SDPA in 1.13).
# Debian's torch links the netlib reference BLAS (~1-3 GFLOP/s); for a fair reference this script gives it Debian's
# OpenBLAS (libopenblas0-openmp, extracted into a temp dir, put first on LD_LIBRARY_PATH) and, on AVX-512 Intel
# CPUs only, OPENBLAS_CORETYPE=SkylakeX (0.3.21 does not know newer Intel cores and would use generic kernels).
#
# Usage: benchmarks/side_by_side.sh [REF_DIR]
#   REF_DIR   a checkout of github.com/guandeh17/Self-Forcing (cloned into a temp dir when omitted)
#   env: ROUNDS (3), THREADS (2), DIT_CHUNKS (2 timed chunks after a warm-up), DECODE_CHUNKS (2), WORKS ("dit vae taehv")
# Output: the raw log and the table in benchmarks/side-by-side-<host>-<date>.txt
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3} THREADS=${THREADS:-2} DIT_CHUNKS=${DIT_CHUNKS:-2} DECODE_CHUNKS=${DECODE_CHUNKS:-2} WORKS=${WORKS:-"dit vae taehv"}
PY=${PY:-/usr/bin/python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ref=${1:-}
if [[ -z "$ref" ]]; then
  ref="$tmp/Self-Forcing"
  git clone -q --depth 1 https://github.com/guandeh17/Self-Forcing "$ref"
fi
[[ -f "$ref/wan/modules/causal_model.py" ]] || { echo "not a Self-Forcing checkout: $ref" >&2; exit 1; }

"$PY" -c 'import torch; print("reference torch", torch.__version__)'
(cd "$tmp" && apt-get download libopenblas0-openmp >/dev/null 2>&1 && dpkg -x libopenblas0-openmp_*.deb blas) \
  || { echo "could not fetch libopenblas0-openmp (apt-get download); the reference would run on netlib BLAS" >&2; exit 1; }
export LD_LIBRARY_PATH="$tmp/blas/usr/lib/x86_64-linux-gnu/openblas-openmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
blas=openblas-openmp-0.3.21
if grep -q GenuineIntel /proc/cpuinfo && grep -qw avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX; blas+="-SkylakeX"; fi

dotnet build src/Hosting -c Release -nologo -v q >/dev/null
sf() { dotnet src/Hosting/bin/Release/net10.0/selfforcing.dll "$@"; }
out=benchmarks/side-by-side-$(hostname)-$(date -u +%Y%m%d).txt
[[ -e "$out" ]] && out=benchmarks/side-by-side-$(hostname)-$(date -u +%Y%m%d-%H%M).txt # never overwrite an earlier run
log="$tmp/log"
shape=(--latent-height 30 --latent-width 52)

run_cs() {
  case $1 in
    dit)   sf bench --stage denoise --config small "${shape[@]}" --chunks "$DIT_CHUNKS" --threads "$THREADS" --dtype float32 ;;
    vae)   sf bench --stage decode --decoder vae --decoder-size mid "${shape[@]}" --chunks $((DECODE_CHUNKS + 1)) --threads "$THREADS" ;;
    taehv) sf bench --stage decode --decoder taehv --decoder-size mid "${shape[@]}" --chunks $((DECODE_CHUNKS + 1)) --threads "$THREADS" ;;
  esac
}
run_ref() {
  local common=(--ref-dir "$ref" --threads "$THREADS" "${shape[@]}")
  case $1 in
    dit)   SF_REF_BLAS=$blas "$PY" benchmarks/reference/ref_bench.py "${common[@]}" --work dit --config small --chunks "$DIT_CHUNKS" ;;
    vae)   SF_REF_BLAS=$blas "$PY" benchmarks/reference/ref_bench.py "${common[@]}" --work vae --decoder-size mid --chunks "$DECODE_CHUNKS" ;;
    taehv) SF_REF_BLAS=$blas "$PY" benchmarks/reference/ref_bench.py "${common[@]}" --work taehv --taehv-nf 128,64,32,32 --chunks "$DECODE_CHUNKS" ;;
  esac
}
# One tagged line per run for the summary: side, work, wall ms per chunk, process CPU ms per chunk, peak RSS.
tag() { # side work
  local side=$1 work=$2 line
  line=$(grep '^RESULT' | tail -1)
  case $side in
    cs) if [[ $work == dit ]]; then
          awk -v s=cs -v w="$work" '{for(i=1;i<=NF;i++){split($i,a,"=");v[a[1]]=a[2]} print "RUN", s, w, v["denoise_ms/chunk"]+v["context_ms/chunk"], v["cpu_ms/chunk"], v["peak_working_set_bytes"]}' <<<"$line"
        else
          awk -v s=cs -v w="$work" '{for(i=1;i<=NF;i++){split($i,a,"=");v[a[1]]=a[2]} print "RUN", s, w, v["steady_chunk_ms"], v["steady_cpu_ms"], v["peak_working_set_bytes"]}' <<<"$line"
        fi ;;
    ref) awk -v s=ref -v w="$work" '{for(i=1;i<=NF;i++){split($i,a,"=");v[a[1]]=a[2]} print "RUN", s, w, v["ms_per_chunk"], v["cpu_ms_per_chunk"], v["peak_rss_bytes"]}' <<<"$line" ;;
  esac
}
one() { # side work
  echo "\$ [$1 $2] load $(cut -d' ' -f1-3 /proc/loadavg)"
  local o
  if [[ $1 == cs ]]; then o=$(run_cs "$2" 2>&1 | grep -v NNPACK); else o=$(run_ref "$2" 2>&1); fi
  echo "$o"
  tag "$1" "$2" <<<"$o"
}

{
  echo "# $(date -u) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# threads $THREADS, rounds $ROUNDS, float32, random weights; reference: $("$PY" -c 'import torch; print(torch.__version__)') + $blas; C#: TorchSharp $(grep -h -o 'TorchSharp" Version="[^"]*' src/*/*.csproj Directory.Packages.props 2>/dev/null | head -1 | cut -d'"' -f3), SELFFORCING_ONEDNN=${SELFFORCING_ONEDNN:-probe}"
  for ((r = 0; r < ROUNDS; r++)); do
    for w in $WORKS; do
      if ((r % 2 == 0)); then one cs "$w"; one ref "$w"; else one ref "$w"; one cs "$w"; fi
    done
  done
} 2>&1 | tee "$log"

{
  cat "$log"
  echo
  "$PY" - "$log" <<'EOF'
import sys, statistics
runs = {}
for line in open(sys.argv[1]):
    if line.startswith("RUN "):
        _, side, work, ms, cpu, peak = line.split()
        runs.setdefault((work, side), []).append((float(ms), float(cpu), int(float(peak))))
names = {"dit": "DiT chunk (4 steps + context), `small` 30x52", "vae": "Wan VAE `mid`, 3 latent frames, 30x52",
         "taehv": "TAEHV `mid`, 3 latent frames, 30x52"}
print("| work | C# ms | reference ms | C# / ref | C# CPU ms | ref CPU ms | C# / ref (CPU) | C# peak RSS | ref peak RSS | runs |")
print("|---|---|---|---|---|---|---|---|---|---|")
for work in ("dit", "vae", "taehv"):
    cs, ref = runs.get((work, "cs"), []), runs.get((work, "ref"), [])
    if not cs or not ref:
        continue
    med = lambda rs, i: statistics.median(x[i] for x in rs)
    c, r, cc, rc, pc, pr = med(cs, 0), med(ref, 0), med(cs, 1), med(ref, 1), med(cs, 2), med(ref, 2)
    print(f"| {names[work]} | {c:,.0f} | {r:,.0f} | {c / r:.2f} | {cc:,.0f} | {rc:,.0f} | {cc / rc:.2f} | {pc / 2**30:.2f} GiB | {pr / 2**30:.2f} GiB "
          f"| {len(cs)} + {len(ref)} |")
EOF
} > "$out"
sed -n '/^| work/,$p' "$out"
echo "written: $out"
