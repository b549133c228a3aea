#!/usr/bin/env bash
# The tiny world's default model, from nothing, with one seed: world data → teacher (flow matching) → ODE pairs →
# ODE-regression init of the causal student → Self-Forcing DMD → export of the EMA generator with the text encoder.
#
#   scripts/train-world.sh OUT [STAGE ...]      stages: text data stills teacher probe pairs ode-init dmd export (default: all, in order)
# text: the world text encoder trained so each token names its own object (train world-text, about a minute) to
#   OUT/world-text.safetensors; once that file exists, data, probe and export encode captions with it, not the frozen
#   seed encoder (README "The default model", fourteenth session: the DiT reads text tokens as a bag, so a frozen random
#   encoder cannot tell which object a direction belongs to)
# vae (not in the default list): a tiny VAE of the world's frames (train world-vae) to OUT/world-vae.safetensors; once
#   that file exists, every later stage works in its 8x8 latents (world-data --vae, 8x8 pairs and DMD). VAE_CODE=W
#   teaches its encoder the shape code (train world-vae --shape-code W; README "A latent that names the shape")
# decoder (not in the default list): that VAE's decoder trained on from noisy latents (--decoder-noise DECODER_NOISE,
#   0.7) to OUT/world-vae-decoder.safetensors, same encoder and statistics; export ships it when it exists
# decoder-code (not in the default list; after decoder): that decoder trained on with less noise on the shape-code
#   channels (DECODER_CODE_NOISE, 0.3) than on the others (DECODER_CODE_OTHERS, 1.2), so it draws outlines from the code
#   (README "A decoder that trusts the code"), to OUT/world-vae-decoder-code.safetensors; export ships it when it exists
# stills: the teacher first learns still frames (the first frame of each clip: 9x the clips per step), then teacher
#   goes on from it on whole clips (README "The default model", eighth session: many small steps beat a few large ones)
# probe: train word-probe of the teacher on 120 held-out clips (does it read colour, shape and direction words?)
#
# SELFFORCING (default: dotnet run --project src/Hosting -c Release --) runs the CLI; SEED (default 0) seeds everything.
# Each stage's wall time goes to OUT/times.txt. The model is WanConfig.World ("world"), 3 latent frames per chunk.
# The twelfth session's model (the previous default; README "The default model"; all on this 2-core CPU):
#   WORLD="--slow-speed 0.041667 --fast-speed 0.071429 --lead-frames 8 --trail-frames 3 --start-jitter 0.25"
#   TEACHER_BATCH=16 TEACHER_STEPS=100000 TEACHER_SECONDS=2400 TEACHER_LOSS_WEIGHT=uniform PAIRS=2400 PAIR_STEPS=24
#   ODE_INIT_STEPS=800 DMD_STEPS=400 scripts/train-world.sh OUT vae data teacher probe pairs ode-init dmd export
#   (its VAE was trained on the same world without --start-jitter; OUT/world-tiny-dmd.safetensors is the file).
# The fourteenth session's model (shipped since) went on from that OUT: the text stage, then
#   WORLD="$WORLD --two-object-odds 0.5" COUNT=24000 TEACHER_FROM=OUT/teacher TEACHER_LR=5e-4 (and the settings above)
#   scripts/train-world.sh OUT2 text data teacher pairs ode-init dmd export   with OUT2/world-vae.safetensors = OUT's
#   and DMD_FRAMES=18 (its teacher ran with --seed 3; README "A text encoder that binds").
# The sixteenth session's model (shipped since) went on from OUT2's teacher with objects weighed 5x in the loss:
#   TEACHER_FROM=OUT2/teacher TEACHER_FOREGROUND=4 TEACHER_SECONDS=2100 (and OUT2's other settings)
#   scripts/train-world.sh OUT3 teacher pairs ode-init dmd export   with OUT3's world-vae, world-text and world_data =
#   OUT2's (its teacher ran with --seed 5; README "Objects weighed in the teacher's loss").
# The eighteenth session's shape-code line (README "A latent that names the shape"; not shipped): VAE_CODE=20
#   VAE_SECONDS=600 (vae), decoder, then data with WORLD="$WORLD --two-object-odds 0.5", a 5,000-step teacher from
#   scratch (TEACHER_BATCH=16 TEACHER_STEPS=5000 TEACHER_LR=1e-3 TEACHER_LOSS_WEIGHT=uniform), two more teacher runs
#   from it (TEACHER_FOREGROUND=4, TEACHER_LR=5e-4 then 3e-4, TEACHER_SECONDS=2700 then 1680), the same distillation.
# The nineteenth session's model (shipped since) went on from that line: decoder-code (DECODER_CODE_OTHERS=1.2
#   DECODER_CODE_NOISE=0.3), a fourth teacher run (TEACHER_LR=3e-4 TEACHER_SECONDS=2400, its --seed 9), then pairs,
#   ode-init and dmd with DMD_FRAMES=15 and export (README "A decoder that trusts the code"; the teacher runs' seeds
#   were 0, 7, 8, 9, each run's exact command is in the README's tables). scripts/world-default.sh OUT runs that whole
#   line in one call, by the step counts those runs reached (README "The shipped line in one call").
# env: FRAMES (latent frames per clip, 9), COUNT (clips, 12000), DEVICE (cpu; cuda for teacher, pairs, ode-init),
#      VAE_STEPS (2400), VAE_CODE (0), DECODER_NOISE (0.7), DECODER_STEPS (900), STILLS_STEPS (4500), STILLS_SECONDS (0 = no limit),
#      TEACHER_STEPS (6000), TEACHER_BATCH (6), TEACHER_SHIFT (2), TEACHER_SECONDS (0 = no limit), TEACHER_LR (1e-3),
#      TEACHER_FROM (a teacher folder to continue from; default OUT/stills when that stage ran), TEACHER_NAME (the folder
#      under OUT it writes, teacher; pairs, ode-init, dmd and probe read OUT/teacher), TEACHER_SEED and DMD_SEED (SEED), TEACHER_FRAMES (first N
#      frames of each clip, 0 = all), TEACHER_EMA (0.998; 0 = none), TEACHER_SCHEDULE (cosine | constant),
#      TEACHER_LOSS_WEIGHT (reference | uniform: every timestep alike, which the shipped teacher used),
#      TEACHER_FOREGROUND (train teacher --foreground-weight: objects up to 1+K times the background in the loss; 0), PAIRS (400),
#      PAIR_STEPS (16), ODE_INIT_STEPS, DMD_STEPS, VAE_SECONDS (720), VAE_KL (2e-5), TEXT_STEPS (3000), DMD_FRAMES (frames of each DMD rollout; default FRAMES),
#      WORLD (extra train world-data flags, e.g. "--slow-speed 0.041667 --fast-speed 0.071429 --lead-frames 8 --trail-frames 3";
#      the probe's held-out clips get WORLD too; it reads their one-object clips only)
set -euo pipefail
out=${1:?usage: scripts/train-world.sh OUT [STAGE ...]}
shift
stages=${*:-text data stills teacher probe pairs ode-init dmd export}
seed=${SEED:-0}
read -r -a sf <<< "${SELFFORCING:-dotnet run --project src/Hosting -c Release --}"
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"

frames=${FRAMES:-9}           # latent frames per training clip: chunks of 3
count=${COUNT:-12000}          # 12,000 clips of 9 frames: about a minute, 1.8 GB
device=${DEVICE:-cpu}
read -r -a world <<< "${WORLD:-}"  # extra world-data flags for the training and held-out clips alike
pairs=${PAIRS:-400}
teacher_steps=${TEACHER_STEPS:-6000}
ode_steps=${ODE_INIT_STEPS:-400}
dmd_steps=${DMD_STEPS:-250}

timed() {
  local name=$1; shift
  local start=$SECONDS
  "$@"
  echo "$name $((SECONDS - start)) s" | tee -a "$out/times.txt"
}

for stage in $stages; do
  vae=(); side=16; text=()
  [[ -f "$out/world-vae.safetensors" ]] && { vae=(--vae "$out/world-vae.safetensors"); side=8; }
  [[ -f "$out/world-text.safetensors" ]] && text=(--text "$out/world-text.safetensors")
  # The decoder stage's VAE has the same encoder and statistics, so only what decodes (the exported model) takes it.
  shipped_vae=("${vae[@]}")
  [[ -f "$out/world-vae-decoder.safetensors" ]] && shipped_vae=(--vae "$out/world-vae-decoder.safetensors")
  [[ -f "$out/world-vae-decoder-code.safetensors" ]] && shipped_vae=(--vae "$out/world-vae-decoder-code.safetensors")
  case $stage in
    vae)       timed vae "${sf[@]}" train world-vae --out "$out/world-vae.safetensors" --count 2000 --frames 9 --steps "${VAE_STEPS:-2400}" \
                 --kl-weight "${VAE_KL:-2e-5}" --max-seconds "${VAE_SECONDS:-720}" --shape-code "${VAE_CODE:-0}" --seed "$seed" "${world[@]}" ;;
    decoder)   timed decoder "${sf[@]}" train world-vae --decoder-from "$out/world-vae.safetensors" --decoder-noise "${DECODER_NOISE:-0.7}" \
                 --out "$out/world-vae-decoder.safetensors" --count 2000 --frames 9 --steps "${DECODER_STEPS:-900}" --seed "$((seed + 1))" "${world[@]}" ;;
    decoder-code) timed decoder-code "${sf[@]}" train world-vae --decoder-from "$out/world-vae-decoder.safetensors" \
                 --decoder-noise "${DECODER_CODE_OTHERS:-1.2}" --decoder-code-noise "${DECODER_CODE_NOISE:-0.3}" \
                 --out "$out/world-vae-decoder-code.safetensors" --count 2000 --frames 9 --steps "${DECODER_STEPS:-900}" --seed "$((seed + 2))" "${world[@]}" ;;
    text)      timed text "${sf[@]}" train world-text --out "$out/world-text.safetensors" --steps "${TEXT_STEPS:-3000}" --seed "$seed" ;;
    data)      timed data "${sf[@]}" train world-data --out "$out/world_data.safetensors" --count "$count" --seed "$((seed * 1000000))" \
                 --frames $frames --text-len 20 --text-dim 32 --text-seed "$seed" "${world[@]}" "${vae[@]}" "${text[@]}" ;;
    stills)    timed stills "${sf[@]}" train teacher --data "$out/world_data.safetensors" --model-config world --out "$out/stills" --frames 1 \
                 --steps "${STILLS_STEPS:-4500}" --batch-size 32 --lr 1.5e-3 --condition-dropout 0.1 --seed "$seed" --save-every 1000 \
                 --shift 2 --ema 0.998 --lr-schedule cosine --max-seconds "${STILLS_SECONDS:-0}" --device "$device" ;;
    teacher)   from=(); teacher_from=${TEACHER_FROM:-}
               [[ -z "$teacher_from" && -f "$out/stills/teacher.safetensors" ]] && teacher_from=$out/stills
               [[ -n "$teacher_from" ]] && from=(--init-from "$teacher_from")
               timed "${TEACHER_NAME:-teacher}" "${sf[@]}" train teacher --data "$out/world_data.safetensors" --model-config world "${from[@]}" --out "$out/${TEACHER_NAME:-teacher}" \
                 --steps "$teacher_steps" --batch-size "${TEACHER_BATCH:-6}" --lr "${TEACHER_LR:-1e-3}" --condition-dropout 0.1 --seed "${TEACHER_SEED:-$seed}" --save-every 1000 \
                 --shift "${TEACHER_SHIFT:-2}" --max-seconds "${TEACHER_SECONDS:-0}" --device "$device" --frames "${TEACHER_FRAMES:-0}" \
                 --ema "${TEACHER_EMA:-0.998}" --lr-schedule "${TEACHER_SCHEDULE:-cosine}" \
                 --loss-weight "${TEACHER_LOSS_WEIGHT:-reference}" --foreground-weight "${TEACHER_FOREGROUND:-0}" ;;
    probe)     timed probe-data "${sf[@]}" train world-data --out "$out/held.safetensors" --count 120 --seed 9000000 --frames $frames \
                 --text-len 20 --text-dim 32 --text-seed "$seed" "${world[@]}" "${vae[@]}" "${text[@]}"
               timed probe "${sf[@]}" train word-probe --teacher "$out/teacher" --data "$out/held.safetensors" --count 60 --device "$device" "${text[@]}" \
                 | tee "$out/word-probe.txt" ;;
    pairs)     timed pairs "${sf[@]}" train ode-pairs --teacher "$out/teacher" --prompts "$out/world_data.safetensors" \
                 --out "$out/ode_pairs.safetensors" --frames $frames --height $side --width $side --ode-steps "${PAIR_STEPS:-16}" --guidance-scale 3 --seed "$seed" --count "$pairs" --batch-size 16 --device "$device" ;;
    ode-init)  timed ode-init "${sf[@]}" train ode-init --pairs "$out/ode_pairs.safetensors" --init-from "$out/teacher" --out "$out/ode-init" \
                 --steps "$ode_steps" --batch-size 8 --lr 2e-4 --seed "$seed" --save-every 200 --device "$device" ;;
    dmd)       timed dmd "${sf[@]}" train --config "$here/scripts/world-dmd.yaml" --teacher "$out/teacher" \
                 --generator "$out/ode-init/checkpoint_model_$(printf %06d "$ode_steps")" --prompt-embeds "$out/world_data.safetensors" \
                 --frames "${DMD_FRAMES:-$frames}" --height $side --width $side --out "$out/dmd" --steps "$dmd_steps" --save-every 50 --seed "${DMD_SEED:-$seed}" ;;
    # Both students are exported; the shipped one (src/Hosting/Models/world-tiny.safetensors) is the one that scored
    # better on held-out captions (README "The default model": the DMD student since the twelfth session).
    export)    [[ -d "$out/dmd" ]] && timed export "${sf[@]}" train world-export --checkpoint "$out/dmd/checkpoint_model_$(printf %06d "$dmd_steps")" \
                 --text-seed "$seed" --out "$out/world-tiny-dmd.safetensors" "${shipped_vae[@]}" "${text[@]}"
               timed export "${sf[@]}" train world-export --checkpoint "$out/ode-init/checkpoint_model_$(printf %06d "$ode_steps")" \
                 --text-seed "$seed" --out "$out/world-tiny-ode-init.safetensors" "${shipped_vae[@]}" "${text[@]}" ;;
    *) echo "unknown stage '$stage' (vae decoder decoder-code text data stills teacher probe pairs ode-init dmd export)" >&2; exit 2 ;;
  esac
done
