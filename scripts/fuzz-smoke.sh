#!/usr/bin/env bash
# fuzz-smoke.sh runs every Go fuzz target of the module briefly (CI smoke
# test): each `func FuzzX` found by `go test -list` runs for $FUZZTIME
# (default 3s). Any crasher fails the script; the fuzzer writes it under the
# package's testdata/fuzz/FuzzX/ so it can be committed after the fix.
#
# Usage: scripts/fuzz-smoke.sh [package pattern ...]   (default ./...)
# Env:   FUZZTIME=3s   time per target
#        FUZZPARALLEL  -parallel for the fuzzer (default: GOMAXPROCS)
#        FUZZMODULE    directory of another module to fuzz, relative to the
#                      repository (e.g. third_party/hollywood; default: the
#                      repository's own module)
#        FUZZTAGS      build tags for go list and go test
set -euo pipefail

cd "$(dirname "$0")/.."
cd "${FUZZMODULE:-.}"
tags=()
[ -n "${FUZZTAGS:-}" ] && tags=(-tags "$FUZZTAGS")
fuzztime=${FUZZTIME:-3s}
patterns=("$@")
[ ${#patterns[@]} -eq 0 ] && patterns=(./...)
par=()
[ -n "${FUZZPARALLEL:-}" ] && par=(-parallel "$FUZZPARALLEL")

# Packages that have test files at all.
mapfile -t pkgs < <(go list "${tags[@]}" -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' "${patterns[@]}")

failed=()
flaked=()
total=0
start=$SECONDS

# corpus lists a target's saved inputs (committed seeds and crashers).
corpus() { ls "$1/testdata/fuzz/$2" 2>/dev/null || true; }

# fuzz_one runs one target. Go 1.26's fuzz coordinator can fail a run with a
# bare "context deadline exceeded" at the end of -fuzztime without any
# failing input (golang/go#75804, fixed in Go 1.27), mostly on a loaded
# machine. Such a run wrote no reproducer; it is retried once and, if it
# happens again, reported as a flake. A run that wrote a new input under
# testdata/fuzz, or failed any other way, is a failure.
fuzz_one() {
	local pkg=$1 t=$2 dir=$3 attempt before out
	for attempt in 1 2; do
		before=$(corpus "$dir" "$t")
		if out=$(go test "${tags[@]}" -run='^$' -fuzz="^${t}\$" -fuzztime="$fuzztime" "${par[@]}" "$pkg" 2>&1); then
			echo "$out"
			return 0
		fi
		echo "$out"
		if [ "$(corpus "$dir" "$t")" != "$before" ] || ! grep -q 'context deadline exceeded' <<<"$out"; then
			return 1
		fi
		echo "--- $pkg $t: 'context deadline exceeded' with no failing input (golang/go#75804); attempt $attempt"
	done
	return 2
}

for pkg in "${pkgs[@]}"; do
	dir=$(go list "${tags[@]}" -f '{{.Dir}}' "$pkg")
	# go test -list prints matching test names, then "ok <pkg> <time>".
	mapfile -t targets < <(go test "${tags[@]}" -run='^$' -list='^Fuzz' "$pkg" | grep -E '^Fuzz[A-Za-z0-9_]*$' || true)
	for t in "${targets[@]}"; do
		[ -z "$t" ] && continue
		total=$((total + 1))
		echo "=== $pkg $t ($fuzztime)"
		rc=0
		fuzz_one "$pkg" "$t" "$dir" || rc=$?
		case $rc in
		0) ;;
		2) flaked+=("$pkg $t") ;;
		*)
			echo "--- FAIL: $pkg $t (crasher saved under the package's testdata/fuzz/$t/)"
			failed+=("$pkg $t")
			;;
		esac
	done
done

echo
echo "fuzz-smoke: $total targets in $((SECONDS - start))s, ${#failed[@]} failed, ${#flaked[@]} flaked (golang/go#75804 twice in a row)"
for f in "${flaked[@]}"; do echo "flaked: $f"; done
if [ ${#failed[@]} -gt 0 ]; then
	printf '  %s\n' "${failed[@]}"
	exit 1
fi
if [ "$total" -eq 0 ]; then
	echo "fuzz-smoke: no fuzz targets found in ${patterns[*]}" >&2
	exit 1
fi
