#!/usr/bin/env bash
# Builds the solution and runs every test project (parity, fault injection and slow tests included).
# Pass a filter to narrow it, e.g. ./test.sh "Category=Parity".
set -euo pipefail
cd "$(dirname "$0")"
filter=${1:-}
dotnet build SelfForcing.Actors.sln -c Release -nologo -v q
args=(test SelfForcing.Actors.sln -c Release --no-build -nologo --logger "console;verbosity=normal")
[ -n "$filter" ] && args+=(--filter "$filter")
dotnet "${args[@]}" 2>&1 | tee /tmp/selfforcing-test.log
