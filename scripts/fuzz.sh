#!/usr/bin/env bash
# scripts/fuzz.sh: run every `go test -fuzz` target of the module, one
# target per `go test` invocation (go test -fuzz takes one at a time), each
# for FUZZTIME (default 5s), and print a table of targets and executions.
#
#   scripts/fuzz.sh                    every target, 5 s each (make fuzz-short, CI)
#   FUZZTIME=2m scripts/fuzz.sh        longer (make soak)
#   scripts/fuzz.sh ./spec ./cas       only these packages
#   FUZZ_SAVE=5 scripts/fuzz.sh        also copy up to 5 of the smallest new
#                                      corpus entries of each target from the
#                                      Go cache into PKG/testdata/fuzz/FuzzX/,
#                                      where plain `go test` replays them
#   FUZZ_REPORT=file scripts/fuzz.sh   also write the table to file
#
# A failing input is written by go test to PKG/testdata/fuzz/FuzzX/ and
# printed; the script then exits 1 after running the other targets.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime="${FUZZTIME:-5s}"
save="${FUZZ_SAVE:-0}"
report="${FUZZ_REPORT:-}"
go="${GO:-go}"
module=$($go list -m)
cache="$($go env GOCACHE)/fuzz"

# Packages to search: the arguments, else every directory with a
# committed test file (what CI has).
if [ $# -gt 0 ]; then
	dirs=("$@")
else
	mapfile -t dirs < <(git ls-files '*_test.go' | xargs -n1 dirname | sort -u | sed 's|^|./|')
fi

targets=()
for d in "${dirs[@]}"; do
	d="${d%/}"
	for f in "$d"/*_test.go; do
		[ -e "$f" ] || continue
		while read -r name; do
			targets+=("$d $name")
		done < <(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(f \*testing\.F).*/\1/p' "$f")
	done
done
if [ ${#targets[@]} -eq 0 ]; then
	echo "fuzz.sh: no fuzz targets found" >&2
	exit 1
fi

# crashers PKG NAME: the names of the inputs committed or written under
# PKG/testdata/fuzz/NAME, to tell a new failing input from none.
crashers() {
	ls "$1/testdata/fuzz/$2" 2>/dev/null || true
}

table=$(mktemp)
trap 'rm -f "$table"' EXIT
printf '%-16s %-26s %10s %8s  %s\n' package target execs corpus result | tee "$table"
failed=0
start=$(date +%s)
for t in "${targets[@]}"; do
	pkg="${t% *}"
	name="${t#* }"
	log=$(mktemp)
	result=
	for try in 1 2; do
		before=$(crashers "$pkg" "$name")
		# -fuzzminimizetime bounds the minimisation of each new input: by
		# default it may take 60 s, which would eat a short run.
		if $go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -fuzzminimizetime 50x "$pkg" >"$log" 2>&1; then
			result=ok
			break
		fi
		# Go 1.26's fuzz coordinator can fail a target with a bare
		# "context deadline exceeded" when -fuzztime ends while a worker is
		# mid-call (golang/go#75804, fixed in Go 1.27). That is no finding:
		# no input was written. Run the target again once; a second bare
		# deadline is reported as a flake, any written input as a failure.
		if [ "$(crashers "$pkg" "$name")" = "$before" ] && grep -q '^    context deadline exceeded$' "$log" && ! grep -q 'Failing input written' "$log"; then
			result=flake
			echo "fuzz.sh: $name: fuzz coordinator deadline race (golang/go#75804), no input written; try $try" >&2
			continue
		fi
		result=FAIL
		failed=1
		cat "$log" >&2
		break
	done
	# A log may lack either figure (a target that found nothing new prints
	# no "total:"); grep's status must not end the script under pipefail.
	execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | awk '{print $2}' || true)
	total=$(grep -o 'total: [0-9]*' "$log" | tail -1 | awk '{print $2}' || true)
	rm -f "$log"
	printf '%-16s %-26s %10s %8s  %s\n' "${pkg#./}" "$name" "${execs:-0}" "${total:-0}" "$result" | tee -a "$table"
	if [ "$save" -gt 0 ]; then
		src="$cache/$module/${pkg#./}/$name"
		dst="$pkg/testdata/fuzz/$name"
		if [ -d "$src" ]; then
			mkdir -p "$dst"
			# The smallest entries: they replay fast and read well.
			ls -S -r "$src" | head -n "$save" | while read -r e; do cp -n "$src/$e" "$dst/"; done
		fi
	fi
done
elapsed=$(($(date +%s) - start))
echo "fuzz.sh: ${#targets[@]} targets, $fuzztime each, ${elapsed}s" | tee -a "$table"
if [ -n "$report" ]; then
	cp "$table" "$report"
fi
exit $failed
