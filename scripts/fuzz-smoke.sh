#!/usr/bin/env bash
# fuzz-smoke.sh runs every Go fuzz target of the module briefly (CI smoke
# test): each `func FuzzX` found by `go test -list` runs for $FUZZTIME
# (default 3s). Any crasher fails the script; the fuzzer writes it under the
# package's testdata/fuzz/FuzzX/ so it can be committed after the fix.
#
# Usage: scripts/fuzz-smoke.sh [package pattern ...]   (default ./...)
# Env:   FUZZTIME=3s   time per target
#        FUZZPARALLEL  -parallel for the fuzzer (default: GOMAXPROCS)
set -euo pipefail

cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-3s}
patterns=("$@")
[ ${#patterns[@]} -eq 0 ] && patterns=(./...)
par=()
[ -n "${FUZZPARALLEL:-}" ] && par=(-parallel "$FUZZPARALLEL")

# Packages that have test files at all.
mapfile -t pkgs < <(go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' "${patterns[@]}")

failed=()
total=0
start=$SECONDS
for pkg in "${pkgs[@]}"; do
	# go test -list prints matching test names, then "ok <pkg> <time>".
	mapfile -t targets < <(go test -run='^$' -list='^Fuzz' "$pkg" | grep -E '^Fuzz[A-Za-z0-9_]*$' || true)
	for t in "${targets[@]}"; do
		[ -z "$t" ] && continue
		total=$((total + 1))
		echo "=== $pkg $t ($fuzztime)"
		if ! go test -run='^$' -fuzz="^${t}\$" -fuzztime="$fuzztime" "${par[@]}" "$pkg"; then
			echo "--- FAIL: $pkg $t (crasher saved under the package's testdata/fuzz/$t/)"
			failed+=("$pkg $t")
		fi
	done
done

echo
echo "fuzz-smoke: $total targets in $((SECONDS - start))s, ${#failed[@]} failed"
if [ ${#failed[@]} -gt 0 ]; then
	printf '  %s\n' "${failed[@]}"
	exit 1
fi
if [ "$total" -eq 0 ]; then
	echo "fuzz-smoke: no fuzz targets found in ${patterns[*]}" >&2
	exit 1
fi
