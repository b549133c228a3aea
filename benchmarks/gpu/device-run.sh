#!/usr/bin/env bash
# One call on a lent GPU machine (no .NET SDK, no network there): bring the CUDA path up, measure the 1.3B model
# (benchmarks/gpu.sh), then spend what is left of the budget training the tiny world's teacher on the GPU.
#
# Prepared here (see README "GPU"):
#   dotnet publish src/Hosting -c Release -r linux-x64 --self-contained -o /tmp/gpu-app  (libtorch*/libc10* removed)
#   tar cJf .gpu/gpu-app.tar.xz -C /tmp gpu-app;  TorchSharp's src/Native at v0.107.0 in .gpu/Native
# Run there:  OUT=<folder> benchmarks/gpu/device-run.sh     (everything it makes goes to $OUT)
# env: BUDGET_S (seconds for the whole run, 560), BENCH_STEPS (gpu.sh STEPS; BENCH=0 skips the measurements),
#      WORLD_COUNT (clips, 4000), WORLD_FRAMES (21), SHIM (a prebuilt libLibTorchSharp.so to use),
#      teacher: TEACHER_CONFIG (world, or a config.json carried along), TEACHER_FROM (a teacher folder to continue),
#      TEACHER_FRAMES (first N frames of each clip, 0 = all), TEACHER_BATCH (256: the 0.5 M model took 63-75 ms a step
#      at batch 32 on an H100, launch-bound, so a bigger batch is nearly free), TEACHER_LR (1e-3), TEACHER_SHIFT (3),
#      TEACHER_EMA (0.999), TEACHER_SCHEDULE (cosine),
#      after it, while time is left (RECIPE_S seconds kept for them, 0 = teacher only): ODE pairs for PAIRS captions
#      (2000, PAIR_FRAMES 9, 48 Euler steps, CFG PAIR_CFG 3) and the ODE-regression init of the student (batch 64)
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:?set OUT to the folder for results}
budget=${BUDGET_S:-560}
log=$OUT/device-run.log
exec > >(tee "$log") 2>&1
say() { echo "== [$SECONDS s] $*"; }
PY=${PY:-python3}
app=/tmp/sf-app
world=/tmp/world
mkdir -p "$app" "$world"

say "$(date -u); $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader)"
read -r tver _ _ tdir libdirs < <("$PY" benchmarks/gpu/torch_info.py)
say "python torch $tver at $tdir; g++ $(g++ -dumpfullversion 2>/dev/null || echo none); $(nproc) cores"
tar xJf .gpu/gpu-app.tar.xz -C "$app" --strip-components=1 || { say "cannot unpack the app"; exit 1; }
# Rebuilt assemblies laid over the published app (a fix after the tarball was made costs no new publish).
if compgen -G ".gpu/patch/*.dll" > /dev/null; then cp .gpu/patch/*.dll "$app/"; say "patched: $(ls .gpu/patch | tr '\n' ' ')"; fi

# The shim: a prebuilt one (from an earlier call), else rebuilt here against this PyTorch, else the shipped one.
if [[ -n "${SHIM:-}" && -f "$SHIM" ]]; then
  cp "$SHIM" "$app/libLibTorchSharp.so"; say "using the prebuilt shim $SHIM"
elif PY=$PY benchmarks/gpu/build-libtorchsharp.sh .gpu/Native /tmp/libLibTorchSharp.so > "$OUT/shim-build.log" 2>&1; then
  cp /tmp/libLibTorchSharp.so "$app/libLibTorchSharp.so"; cp /tmp/libLibTorchSharp.so "$OUT/"
  say "rebuilt the shim against torch $tver ($(tail -1 "$OUT/shim-build.log"))"
else
  say "the shim did not build (shim-build.log: $(grep -m3 -E 'error|FAILED' "$OUT/shim-build.log" | tr '\n' ' ')); trying the shipped one"
fi
export LD_LIBRARY_PATH="$libdirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
SF=$app/selfforcing

# World data on the CPU cores while the GPU measures (TEACHER=0: measurements only).
teach=${TEACHER:-1}
frames=${WORLD_FRAMES:-21}
(( teach )) && ( "$SF" train world-data --out "$world/world_data.safetensors" --count "${WORLD_COUNT:-4000}" --seed 0 --frames "$frames" \
    --text-len 20 --text-dim 32 --text-seed 0 > "$OUT/world-data.log" 2>&1; echo "exit $?" >> "$OUT/world-data.log" ) &
data_pid=$!
(( teach )) || data_pid=

# The measurements (gpu.sh skips its build: APP_DIR; it checks the shim loads and sets the library path itself).
if (( ${BENCH:-1} )); then
  APP_DIR=$app PY=$PY OUT_FILE=$OUT/gpu-bench.txt STEP_TIMEOUT=${STEP_TIMEOUT:-150} DEADLINE=${BENCH_DEADLINE:-$((budget * 55 / 100 - SECONDS))} \
    STEPS="${BENCH_STEPS:-sanity dit-bf16 e2e-vae e2e-taehv dit-fp32}" CHUNKS=${CHUNKS:-6} benchmarks/gpu.sh
  say "bench done"
fi

(( teach )) || { say "done (no teacher: TEACHER=0)"; exit 0; }
wait "$data_pid"
say "world data: $(tail -2 "$OUT/world-data.log" | tr '\n' ' ')"
recipe=${RECIPE_S:-0}
left=$((budget - SECONDS - 25 - recipe))
if (( left > 30 )); then
  say "teacher on the GPU for up to $left s"
  from=(); [[ -n "${TEACHER_FROM:-}" ]] && from=(--init-from "$TEACHER_FROM")
  "$SF" train teacher --data "$world/world_data.safetensors" --model-config "${TEACHER_CONFIG:-world}" "${from[@]}" --out "$world/teacher" \
    --device "${DEVICE:-cuda}" --steps 200000 --batch-size "${TEACHER_BATCH:-256}" --lr "${TEACHER_LR:-1e-3}" --condition-dropout 0.1 --seed 0 \
    --shift "${TEACHER_SHIFT:-3}" --frames "${TEACHER_FRAMES:-0}" --ema "${TEACHER_EMA:-0.999}" --lr-schedule "${TEACHER_SCHEDULE:-cosine}" \
    --save-every 1000 --max-seconds "$left" 2>&1 | awk 'NR % 200 == 1 || /saved|stopping|error|rror/'
  say "teacher: $(tail -1 "$world/teacher/teacher_metrics.jsonl" 2>/dev/null)"
  tar czf "$OUT/world-teacher.tar.gz" -C "$world" teacher && say "teacher packed: $(du -h "$OUT/world-teacher.tar.gz" | cut -f1)"
  # Does it read its words? (chance: colour 20%, shape 33%, direction 25%; forward passes only, well under a minute)
  "$SF" train world-data --out "$world/held.safetensors" --count 120 --seed 9000000 --frames 9 > /dev/null 2>&1 &&
    "$SF" train word-probe --teacher "$world/teacher" --data "$world/held.safetensors" --count 60 --device "${DEVICE:-cuda}" 2>&1 |
    tail -3 | while read -r line; do say "word probe: $line"; done
else
  say "no time left for the teacher ($left s)"
fi

# The student's first stages on the GPU too (the CPU here took 13 min for 160 pairs and 29 min for 300 init steps).
if (( recipe > 0 )) && [[ -f "$world/teacher/teacher.safetensors" ]]; then
  pf=${PAIR_FRAMES:-9}
  "$SF" train ode-pairs --teacher "$world/teacher" --prompts "$world/world_data.safetensors" --out "$world/ode_pairs.safetensors" \
    --frames "$pf" --height 16 --width 16 --ode-steps 48 --guidance-scale "${PAIR_CFG:-3}" --seed 0 --count "${PAIRS:-2000}" \
    --batch-size 64 --device "${DEVICE:-cuda}" 2>&1 | tail -3
  say "pairs: $(ls -l "$world/ode_pairs.safetensors" 2>/dev/null | awk '{print $5}') bytes"
  left=$((budget - SECONDS - 20))
  if (( left > 20 )) && [[ -f "$world/ode_pairs.safetensors" ]]; then
    "$SF" train ode-init --pairs "$world/ode_pairs.safetensors" --init-from "$world/teacher" --out "$world/ode-init" --steps 100000 \
      --batch-size 64 --lr 2e-4 --seed 0 --save-every 1000000 --max-seconds "$left" --device "${DEVICE:-cuda}" 2>&1 | awk 'NR % 200 == 1 || /saved|stopping|rror/'
    say "ode-init: $(tail -1 "$world/ode-init/ode_init_metrics.jsonl" 2>/dev/null)"
    tar czf "$OUT/world-ode-init.tar.gz" -C "$world" ode-init && say "student packed: $(du -h "$OUT/world-ode-init.tar.gz" | cut -f1)"
  else
    say "no time left for the ODE init ($left s)"
  fi
fi
say "done"
