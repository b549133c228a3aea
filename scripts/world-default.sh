#!/usr/bin/env bash
# The shipped default model (src/Hosting/Models/world-tiny.safetensors, nineteenth session) from nothing, in one call:
#
#   scripts/world-default.sh OUT           SEED (0) seeds every stage; DIVIDE (1) divides every step and clip count;
#                                          STOP_AFTER=STAGE stops after that stage (text vae decoder decoder-code data
#                                          teacher-1 teacher-2 teacher-3 teacher pairs ode-init dmd export eval)
#
# It runs scripts/train-world.sh's stages with the settings the shipped line ran with, by step counts rather than the
# time limits those runs had, so it does the same work on any machine (README "The default model", "A latent that
# names the shape" and "A decoder that trusts the code" give each stage's figures):
#   text      the world text encoder, 3,000 steps
#   vae       the VAE with the shape code (--shape-code 20), 1,038 steps; decoder (noise 0.7) and decoder-code
#             (1.2 on appearance, 0.3 on the code), 900 steps each
#   data      12,000 clips of the world below through that VAE and text encoder
#   teacher   four runs, each from the one before (the shipped teacher ran as four, stopped by time; these are the steps
#             they reached): 5,000 steps at lr 1e-3, then 10,729 at 5e-4, 9,378 at 3e-4 and 13,873 at 3e-4 with objects
#             weighed up to 5x in the loss; batch 16, cosine to zero in each run
#   pairs     2,400 teacher ODE pairs (24 Euler steps, CFG 3); ode-init 800 steps; dmd 400 steps on 15-frame rollouts
#   export    OUT/world-tiny-dmd.safetensors (the default model) and OUT/world-tiny-ode-init.safetensors
#   eval      world-sample over 200 held-out captions, chunks 1-3 and chunks 20-30 of the same streams, to OUT/eval-*.txt
# Seeds: text, vae, data, pairs and ode-init SEED; decoder SEED+1, decoder-code SEED+2; the teacher runs SEED, SEED+7,
# SEED+8, SEED+9; dmd SEED+1 (the shipped model is DMD seed 1 of two tried, 0 and 1, on the same held-out captions).
# A finished stage's output in OUT is kept, so an interrupted run goes on where it stopped (a stage stopped half-way
# leaves OUT/.running-STAGE behind and is run again). On a 2-core AMD EPYC here (main's build) the whole line takes
# about 4 h 40 min: text through teacher-1 1 h 58 min, the three later teacher runs 2 h 16 min, the rest 24 min (README
# "The shipped line in one call" has every stage's figures). DIVIDE=100 runs the whole chain in about 4 minutes.
# SELFFORCING runs the CLI (default: dotnet run --project src/Hosting -c Release --).
set -euo pipefail
out=${1:?usage: scripts/world-default.sh OUT}
seed=${SEED:-0}
div=${DIVIDE:-1}
[[ "$div" =~ ^[1-9][0-9]*$ ]] || { echo "DIVIDE must be a positive whole number, not '$div'" >&2; exit 2; }
[[ "$seed" =~ ^[0-9]+$ ]] || { echo "SEED must be a whole number, not '$seed'" >&2; exit 2; }
here=$(cd "$(dirname "$0")/.." && pwd)
read -r -a sf <<< "${SELFFORCING:-dotnet run --project $here/src/Hosting -c Release --}"

n() { echo $(( ($1 + div - 1) / div )); }  # a count divided by DIVIDE, at least 1
world="--slow-speed 0.041667 --fast-speed 0.071429 --lead-frames 8 --trail-frames 3 --start-jitter 0.25 --two-object-odds 0.5"
export SELFFORCING="${sf[*]}" SEED=$seed WORLD=$world FRAMES=9 COUNT=$(n 12000) \
  TEXT_STEPS=$(n 3000) VAE_CODE=20 VAE_STEPS=$(n 1038) VAE_SECONDS=0 DECODER_NOISE=0.7 DECODER_STEPS=$(n 900) \
  DECODER_CODE_OTHERS=1.2 DECODER_CODE_NOISE=0.3 TEACHER_BATCH=16 TEACHER_SHIFT=2 TEACHER_EMA=0.998 \
  TEACHER_SCHEDULE=cosine TEACHER_LOSS_WEIGHT=uniform TEACHER_SECONDS=0 PAIRS=$(n 2400) PAIR_STEPS=24 \
  ODE_INIT_STEPS=$(n 800) DMD_STEPS=$(n 400) DMD_FRAMES=15 DMD_SEED=$((seed + 1))

stop_after=${STOP_AFTER:-}
stages="text vae decoder decoder-code data teacher-1 teacher-2 teacher-3 teacher pairs ode-init dmd export eval"
[[ -z "$stop_after" || " $stages " == *" $stop_after "* ]] || { echo "STOP_AFTER must be one of: $stages" >&2; exit 2; }
mkdir -p "$out"
after() { [[ "$1" == "$stop_after" ]] && { echo "stopped after $1 (STOP_AFTER); run again without it to go on"; exit 0; }; return 0; }

# once OUTPUT NAME COMMAND...: run COMMAND unless OUTPUT is in OUT and finished. The marker OUT/.running-NAME stays
# until COMMAND has finished, so what a stopped stage left half-written (a teacher saves every 1,000 steps) is made again.
once() {
  local output=$1 name=$2; shift 2
  if [[ -e "$out/$output" && ! -e "$out/.running-$name" ]]; then
    echo "== $name: kept $out/$output"
  else
    echo "== $name"
    touch "$out/.running-$name"
    "$@"
    rm "$out/.running-$name"
  fi
  after "$name"
}
stage() { once "$1" "$2" "$here/scripts/train-world.sh" "$out" "$2"; }  # stage OUTPUT NAME: train-world.sh's stage NAME
teacher() {  # teacher FOLDER FROM STEPS LR FOREGROUND SEED_OFFSET
  local from=(); [[ -n "$2" ]] && from=(TEACHER_FROM="$out/$2")
  once "$1/teacher.safetensors" "$1" env "${from[@]}" TEACHER_NAME="$1" TEACHER_STEPS="$(n "$3")" TEACHER_LR="$4" \
    TEACHER_FOREGROUND="$5" TEACHER_SEED=$((seed + $6)) "$here/scripts/train-world.sh" "$out" teacher
}
sample() {  # sample early|late: the evaluator over the held-out captions, chunks 1-3 or 20-30, to OUT/eval-WINDOW.txt
  local late=(); [[ $1 == late ]] && late=(--chunks 11 --skip-chunks 19)
  "${sf[@]}" world-sample --world "$out/world-tiny-dmd.safetensors" --count "$(n 200)" "${late[@]}" --out "$out/eval-$1" \
    | tee "$out/eval-$1.txt"
}

stage world-text.safetensors text
stage world-vae.safetensors vae
stage world-vae-decoder.safetensors decoder
stage world-vae-decoder-code.safetensors decoder-code
stage world_data.safetensors data
teacher teacher-1 "" 5000 1e-3 0 0
teacher teacher-2 teacher-1 10729 5e-4 4 7
teacher teacher-3 teacher-2 9378 3e-4 4 8
teacher teacher teacher-3 13873 3e-4 4 9
stage ode_pairs.safetensors pairs
stage "ode-init/checkpoint_model_$(printf %06d "$ODE_INIT_STEPS")" ode-init
stage "dmd/checkpoint_model_$(printf %06d "$DMD_STEPS")" dmd
stage world-tiny-dmd.safetensors export

once eval-early.txt eval-early sample early
once eval-late.txt eval-late sample late
after eval
echo "done: $out/world-tiny-dmd.safetensors (stage times in $out/times.txt, held-out figures in $out/eval-early.txt and eval-late.txt)"
