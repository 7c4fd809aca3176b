#!/usr/bin/env bash
# fuzz.sh - run every `func Fuzz...` target of the module for FUZZTIME each (default 30s).
# Targets are found by name, so a new one runs without editing this file. A failing input is
# written to the package's testdata/fuzz/TARGET/ and replayed by `go test` from then on:
# commit it with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-30s}
status=0
for dir in $(grep -rl --include='*_test.go' '^func Fuzz' internal | xargs -n1 dirname | sort -u); do
	for target in $(grep -h '^func Fuzz' "$dir"/*_test.go | sed 's/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do
		echo "fuzz: ./$dir $target for $FUZZTIME"
		# Minimizing each new input for the default minute would use up a short run.
		"$GO" test -run '^$' -fuzz "^$target\$" -fuzztime "$FUZZTIME" -fuzzminimizetime 5s "./$dir" || status=1
	done
done
exit $status
