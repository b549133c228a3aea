#!/usr/bin/env bash
# Builds the solution and runs every test project (parity, fault injection and slow tests included).
# Pass a filter to narrow it, e.g. ./test.sh "Category=Parity".
#
# The projects run one after another, each in blame mode: a test host that dies (a native crash, an exception on a
# thread of its own, the OOM killer) prints no totals, and with several hosts writing at once its few lines were lost
# in the others' output (one CI run said only "528 passed, 0 failed" and exit 1). Run alone, every project ends with
# its own line here, and a crash is repeated at the very end with its reason and the test that was running.
set -euo pipefail
cd "$(dirname "$0")"
filter=${1:-}
dotnet build SelfForcing.Actors.sln -c Release -nologo -v q

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
rc=0
summary=()
passed=0 failed=0 skipped=0 aborts=0
for project in tests/*/*.Tests.csproj; do
  name=$(basename "$project" .csproj)
  log="$logs/$name.log"
  args=(test "$project" -c Release --no-build -nologo --blame --logger "console;verbosity=normal"
        --results-directory "$logs/$name")
  [ -n "$filter" ] && args+=(--filter "$filter")
  set +e
  dotnet "${args[@]}" 2>&1 | tee "$log"
  project_rc=${PIPESTATUS[0]}
  set -e
  [ "$project_rc" -ne 0 ] && rc=$project_rc
  # An aborted run prints no totals: then count the results it printed before it died.
  read -r p f k aborted < <(awk '
     /^Total tests: / { t = 1; next }
     t && /^ +Passed: +[0-9]+$/  { p += $2; next }
     t && /^ +Failed: +[0-9]+$/  { f += $2; next }
     t && /^ +Skipped: +[0-9]+$/ { s += $2; next }
     /Total time:/ { t = 0 }
     /^Test Run Aborted/ { aborted = 1 }
     /^  Passed / { seen_p++ } /^  Failed / { seen_f++ }
     END { if (aborted) { p = seen_p; f = seen_f } printf "%d %d %d %d\n", p, f, s, aborted }' "$log")
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + k)); aborts=$((aborts + aborted))
  line=$(printf '%-28s %d passed, %d failed, %d skipped' "$name" "$p" "$f" "$k")
  if [ "$aborted" -ne 0 ]; then line+="  ABORTED: the test host died (reason below)"
  elif [ "$project_rc" -ne 0 ] && [ "$f" -eq 0 ]; then line+="  exit $project_rc with no test failed"; fi
  summary+=("$line")
done

echo
echo "Per test project:"
printf '  %s\n' "${summary[@]}"
# A dead host's own words: the reason dotnet test gave and the test(s) that were running.
for log in "$logs"/*.log; do
  if grep -q "^Test Run Aborted" "$log"; then
    echo
    echo "$(basename "$log" .log) aborted:"
    grep -A 12 -E "The active test run was aborted|The test running when the crash occurred|tests running when the crash occurred" "$log" \
      | grep -v '^--$' | head -n 40 | sed 's/^/  /'
    # The blame log lists tests in the order they started; the last ones had not finished (it lags a little).
    name=$(basename "$log" .log)
    for sequence in "$logs/$name"/*/Sequence_*.xml; do
      [ -f "$sequence" ] || continue
      echo "  last tests started (blame sequence, Completed=False marks the unfinished):"
      sed -nE 's/.*<Test Name="([^"]*)".*Completed="([A-Za-z]*)".*/    \1 Completed=\2/p' "$sequence" | tail -n 8
    done
  fi
done
# Each failed test again, with its message: CI keeps only the tail of this output, and a failure printed minutes
# earlier, among hundreds of passes, was lost there (one run said only "2 failed").
if [ "$failed" -gt 0 ]; then
  echo
  echo "Failed tests:"
  for log in "$logs"/*.log; do
    awk '/^  Failed / { on = 1; n = 0 } /^  Stack Trace:/ { on = 0 }
         on && n < 10 { print "  " $0; n++ }' "$log"
  done
fi
# One plain closing line summed over all test projects.
printf 'Tests: %d passed, %d failed, %d skipped' "$passed" "$failed" "$skipped"
[ "$aborts" -gt 0 ] && printf ', %d project(s) aborted' "$aborts"
echo
exit "$rc"
