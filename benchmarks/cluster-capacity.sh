#!/usr/bin/env bash
# Streams per second with one vs two denoiser processes (tiny model, loopback cluster, real nats-server).
# Usage: benchmarks/cluster-capacity.sh [streams=4]   (each stream: 4 chunks, the example client's request)
# Node 1: api, text-encoder, publisher, decoder (seed). Nodes 2..: denoiser only.
set -euo pipefail
cd "$(dirname "$0")/.."
streams=${1:-4}; chunks=4
dotnet build SelfForcing.Actors.sln -c Release -nologo -v q >/dev/null
sf="dotnet src/Hosting/bin/Release/net10.0/selfforcing.dll"
client="dotnet examples/StreamClient/bin/Release/net10.0/StreamClient.dll"
work=$(mktemp -d); pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
nats_port=$(free_port); seed_port=$(free_port)
nats-server -a 127.0.0.1 -p "$nats_port" -js -sd "$work/js" >/dev/null 2>&1 & pids+=($!)
common=(--nats "nats://127.0.0.1:$nats_port" --seed-nodes "akka.tcp://selfforcing@127.0.0.1:$seed_port" --latent-height 16 --latent-width 16)
start_node() { # roles port log
  $sf serve "${common[@]}" --roles "$1" --cluster-port "$2" >"$3" 2>&1 & pids+=($!)
  for _ in $(seq 300); do grep -q "^cluster node" "$3" && return 0; sleep 0.2; done; echo "node $1 did not start: $(cat "$3")" >&2; exit 1
}
run_streams() { # label
  sleep 3 # let the api node find the new endpoints
  local t0=$(date +%s.%N)
  local clients=()
  for i in $(seq "$streams"); do
    $client "nats://127.0.0.1:$nats_port" "stream $i" "$work/s$i.mp4" >"$work/c$i.log" 2>&1 & clients+=($!)
  done
  wait "${clients[@]}" || true
  local t1=$(date +%s.%N)
  local done_ok=$(grep -l '"type":"completed"' "$work"/c*.log | wc -l)
  python3 -c "import sys; t=$t1-$t0; print(f'$1: $streams streams x $chunks chunks, {t:.1f} s wall, {$streams/t:.3f} streams/s, completed {$done_ok}/$streams')"
}
start_node api,text-encoder,publisher,decoder "$seed_port" "$work/api.log"
start_node denoiser 0 "$work/d1.log"
run_streams "1 denoiser process"
start_node denoiser 0 "$work/d2.log"
run_streams "2 denoiser processes"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
