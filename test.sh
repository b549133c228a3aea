#!/usr/bin/env bash
# Builds the solution and runs every test project (parity, fault injection and slow tests included).
# Pass a filter to narrow it, e.g. ./test.sh "Category=Parity".
set -euo pipefail
cd "$(dirname "$0")"
filter=${1:-}
dotnet build SelfForcing.Actors.sln -c Release -nologo -v q
args=(test SelfForcing.Actors.sln -c Release --no-build -nologo --logger "console;verbosity=normal")
[ -n "$filter" ] && args+=(--filter "$filter")
log=$(mktemp)
set +e
dotnet "${args[@]}" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
# One plain closing line summed over all test assemblies.
awk '/^Total tests: / { t = 1; next }
     t && /^ +Passed: +[0-9]+$/  { p += $2; next }
     t && /^ +Failed: +[0-9]+$/  { f += $2; next }
     t && /^ +Skipped: +[0-9]+$/ { s += $2; next }
     /Total time:/ { t = 0 }
     END { printf "Tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
rm -f "$log"
exit "$rc"
