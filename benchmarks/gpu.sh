#!/usr/bin/env bash
# First run on an NVIDIA GPU — NOT RUN YET: no GPU machine has been lent to this project so far. One command that
# brings the CUDA path up and measures the 1.3B model at 480x832 (latent 60x104) with random weights:
# first-chunk latency, steady FPS denoise-only and end to end, with the Wan VAE and with TAEHV (real sizes).
#
# How it gets a CUDA libtorch (first that works):
#   A. `dotnet build -p:TorchBackend=cuda` (TorchSharp-cuda-linux from NuGet: needs a feed that has it; this
#      project's mirror does not, and a machine without network will fail here quickly).
#   B. The CPU build, with its bundled libtorch removed and a pip-installed PyTorch's libraries put first on
#      LD_LIBRARY_PATH (torch/lib plus the nvidia/*/lib wheels). TorchSharp loads `torch_cuda` by name, so it
#      finds them there. LibTorchSharp 0.107 is compiled against libtorch 2.10: another PyTorch version may fail
#      with undefined symbols (the script says so and still tries).
#   APP_DIR=<folder with selfforcing.dll or a self-contained `selfforcing`> skips building (for a machine without
#   the .NET SDK: `dotnet publish src/Hosting -c Release -r linux-x64 --self-contained -o gpu-app`, then delete
#   gpu-app/libtorch*.so gpu-app/libc10*.so gpu-app/libgomp*.so, which route B replaces anyway).
# env: PY (python with torch, default python3), STEP_TIMEOUT seconds per step (900), CHUNKS (6), SKIP_BUILD_A=1,
#   STEPS (a subset of: sanity dit-bf16 dit-fp32 e2e-vae e2e-taehv long-tiny), DEADLINE (seconds: start no step after),
#   APP_TARBALL (a tar.xz of the self-contained publish), TS_NATIVE (TorchSharp's src/Native: rebuild the shim, route C),
#   OUT_FILE (where the log goes)
# The end-to-end steps (`bench` with no --stage) also time each stage alone on the GPU (text encoder stand-in, each
# denoise step, context pass, decoder, fMP4 encode on the CPU) and the pipeline's efficiency and overhead.
# Output: benchmarks/gpu-<host>-<date>.txt (raw output of every step, GPU memory peaks, the summary at the end).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3} STEP_TIMEOUT=${STEP_TIMEOUT:-900} CHUNKS=${CHUNKS:-6} DEVICE=${DEVICE:-cuda}
out=${OUT_FILE:-benchmarks/gpu-$(hostname)-$(date -u +%Y%m%d-%H%M).txt}
exec > >(tee "$out") 2>&1
say() { echo "== $*"; }
work=$(mktemp -d)
trap 'kill $smi_pid 2>/dev/null; rm -rf "$work"' EXIT
smi_pid=

say "$(date -u) on $(hostname)"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || { say "no NVIDIA GPU visible (nvidia-smi failed)"; exit 1; }
nproc; grep -m1 'model name' /proc/cpuinfo

# --- 1. the app and a CUDA libtorch -------------------------------------------------------------------------------
app= route=
torch_info=$("$PY" benchmarks/gpu/torch_info.py 2>/dev/null)
say "python torch: ${torch_info:-none} (version, CUDA, cuda available, folder, library dirs)"

if [[ -n "${APP_TARBALL:-}" ]]; then
  mkdir -p "$work/app" && tar xJf "$APP_TARBALL" -C "$work/app" --strip-components=1 || { say "cannot unpack $APP_TARBALL"; exit 1; }
  app=$work/app route="given APP_TARBALL"
elif [[ -n "${APP_DIR:-}" ]]; then
  app=$APP_DIR route="given APP_DIR"
elif command -v dotnet >/dev/null; then
  if [[ -z "${SKIP_BUILD_A:-}" ]] && timeout 900 dotnet build src/Hosting -c Release -nologo -v q -p:TorchBackend=cuda -o "$work/app-cuda"; then
    app=$work/app-cuda route="A: TorchSharp-cuda-linux from NuGet"
  else
    say "route A (TorchBackend=cuda) did not build; trying route B (pip PyTorch's libtorch)"
    dotnet build src/Hosting -c Release -nologo -v q -o "$work/app-cpu" || { say "the CPU build failed"; exit 1; }
    app=$work/app-cpu route="B: CPU build + pip PyTorch libraries"
  fi
else
  say "no .NET SDK and no APP_DIR: cannot run the C# side"; exit 1
fi
if [[ $route != A* ]]; then
  [[ -n "$torch_info" ]] || { say "route B needs a python with torch (PY=$PY)"; exit 1; }
  read -r tver tcuda tavail _ tdirs <<<"$torch_info"
  [[ $tavail == True ]] || say "warning: this torch does not see a GPU (torch.cuda.is_available() = $tavail)"
  [[ $tver == 2.10* ]] || say "warning: torch $tver, but LibTorchSharp 0.107 is built against libtorch 2.10: expect undefined symbols"
  # The bundled CPU libtorch must not shadow the CUDA one.
  find "$app" \( -name 'libtorch*.so*' -o -name 'libc10*.so*' -o -name 'libgomp*.so*' -o -name 'libshm.so' \) -delete
  export LD_LIBRARY_PATH="$tdirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  shim=$(find "$app" -name libLibTorchSharp.so | head -1)
  loads() { "$PY" -c "import torch, ctypes, sys; ctypes.CDLL(sys.argv[1])" "$1" 2>&1 | tail -1; }
  # Route C: the shim rebuilt against this PyTorch's headers (a shim linked against another libtorch may load and
  # still disagree on class layouts, so a rebuilt one is preferred when the sources are given).
  if [[ -n "${TS_NATIVE:-}" ]] && benchmarks/gpu/build-libtorchsharp.sh "$TS_NATIVE" "$work/libLibTorchSharp.so"; then
    err=$(loads "$work/libLibTorchSharp.so")
    if [[ -z $err ]]; then
      for f in $(find "$app" -name libLibTorchSharp.so); do cp "$work/libLibTorchSharp.so" "$f"; done
      route="C: CPU build + pip PyTorch libraries + LibTorchSharp rebuilt against torch $tver"
    else say "the rebuilt shim does not load: $err"; fi
  fi
  err=$(loads "$shim")
  [[ -z $err ]] && say "the shim in use loads against torch $tver" || { say "the shim does not load against torch $tver: $err"; exit 1; }
fi
say "route $route; app in $app"
if [[ -x "$app/selfforcing" ]]; then SF=("$app/selfforcing"); else SF=(dotnet "$app/selfforcing.dll"); fi

# --- 2. the measurements -------------------------------------------------------------------------------------------
nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 250 > "$work/gpumem" 2>/dev/null & smi_pid=$!
step() { # name, then the bench arguments
  if [[ -n "${DEADLINE:-}" && $SECONDS -ge $DEADLINE ]]; then say "step $1: skipped (DEADLINE=$DEADLINE s reached)"; return; fi
  local name=$1; shift
  : > "$work/gpumem"
  say "step $name: selfforcing $*"
  local t0=$SECONDS
  timeout "$STEP_TIMEOUT" "${SF[@]}" "$@" 2>&1 | grep -v NNPACK
  local rc=${PIPESTATUS[0]}
  say "step $name: exit $rc after $((SECONDS - t0)) s; GPU memory peak $(sort -n "$work/gpumem" | tail -1) MiB"
}
big=(--config 1.3b --latent-height 60 --latent-width 104 --device "$DEVICE")
fmt=fmp4
command -v ffmpeg >/dev/null || { fmt=rgb24; say "no ffmpeg: end-to-end streams end in raw RGB (no H.264 encode stage)"; }
for name in ${STEPS:-sanity dit-bf16 dit-fp32 e2e-vae e2e-taehv long-tiny}; do
  case $name in
    sanity)    step sanity    bench --stage denoise --config tiny --device "$DEVICE" --chunks 3 ;;
    dit-bf16)  step dit-bf16  bench --stage denoise "${big[@]}" --dtype bfloat16 --chunks "$CHUNKS" ;;
    dit-fp32)  step dit-fp32  bench --stage denoise "${big[@]}" --dtype float32 --chunks 3 ;;
    e2e-vae)   step e2e-vae   bench "${big[@]}" --dtype bfloat16 --decoder vae --decoder-size real --chunks "$CHUNKS" --long-chunks 0 --format $fmt ;;
    e2e-taehv) step e2e-taehv bench "${big[@]}" --dtype bfloat16 --decoder taehv --decoder-size real --chunks "$CHUNKS" --long-chunks 0 --format $fmt ;;
    long-tiny) step long-tiny bench --device "$DEVICE" --chunks 4 --decoder taehv --long-chunks 1000 --format $fmt ;;
    *) say "unknown step $name" ;;
  esac
done

# --- 3. summary ----------------------------------------------------------------------------------------------------
say "summary (12 frames per chunk of 3 latent frames; the paper's figure: 17 FPS on one H100)"
grep -E '^RESULT' "$out" | sed 's/^/  /'
say "GPU run done: $route. Copy $out into the README's Performance section (GPU: first run)."
