#!/usr/bin/env bash
# Reproduces benchmarks/results-*.txt: the bench verb over the configurations recorded in the README.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build src/Hosting -c Release -nologo -v q
sf() { dotnet src/Hosting/bin/Release/net10.0/selfforcing.dll "$@"; }
out=benchmarks/results-$(hostname)-$(date -u +%Y%m%d).txt
{
  echo "# $(date -u) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
  # Every figure in one run (stages, stream through the pipeline, 1,000-chunk rolling-cache stream), tiny model.
  sf bench --chunks 8 --decoder taehv --long-chunks 1000
  sf bench --stage denoise --config tiny --latent-height 8 --latent-width 8 --chunks 5
  sf bench --stage denoise --config small --latent-height 30 --latent-width 52 --chunks 2
  sf bench --stage denoise --config 1.3b --latent-height 16 --latent-width 16 --chunks 1
  sf bench --stage denoise --config tiny --latent-height 8 --latent-width 8 --chunks 5 --dtype bfloat16
  sf bench --stage decode --decoder vae --decoder-size tiny --latent-height 8 --latent-width 8 --chunks 4
  sf bench --stage decode --decoder taehv --decoder-size tiny --latent-height 8 --latent-width 8 --chunks 4
  sf bench --stage decode --decoder vae --decoder-size mid --latent-height 30 --latent-width 52 --chunks 3
  sf bench --stage decode --decoder taehv --decoder-size mid --latent-height 30 --latent-width 52 --chunks 3
  sf bench --stage encode --latent-height 8 --latent-width 8 --chunks 5
  sf bench --stage encode --latent-height 60 --latent-width 104 --chunks 5
  sf bench --stage encode --format jpeg --latent-height 60 --latent-width 104 --chunks 3
  # Real 480x832 decoders: one latent frame (the first chunk of a video); about a minute each on 2 idle cores.
  sf bench --stage decode --decoder taehv --decoder-size real --latent-height 60 --latent-width 104 --chunks 1 --latent-frames 1
  sf bench --stage decode --decoder vae --decoder-size real --latent-height 60 --latent-width 104 --chunks 1 --latent-frames 1
} 2>&1 | tee "$out"
