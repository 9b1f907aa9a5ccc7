#!/usr/bin/env bash
# scripts/soak.sh (make soak): the long versions of the hardening tests of
# issue 10, and longer fuzzing. The same tests run short in make test.
#
#   RIGOR_SOAK=1 for: kill points (20 per command of add, run, push, pull,
#   gc), 16 processes of run/verify/runs for 5 minutes (RIGOR_LOAD_TIME
#   overrides), trees of a million entries; then every fuzz target for
#   SOAK_FUZZTIME (default 60s).
#
# Logs and the fuzz table go to SOAK_OUT (default bench-work/soak); the
# figures RELIABILITY.md quotes are the lines printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${SOAK_OUT:-bench-work/soak}"
mkdir -p "$out"
go="${GO:-go}"
export RIGOR_SOAK=1
status=0

run() { # name package test-regexp
	echo "== $1"
	if ! $go test -count=1 -v -timeout 120m -run "$3" "$2" >"$out/$1.log" 2>&1; then
		status=1
		tail -n 40 "$out/$1.log"
	fi
	grep -E '^\s+\S+_hardening_test.go:[0-9]+: ' "$out/$1.log" | sed 's/^ *//' || true
	grep -E '^(--- FAIL|FAIL|ok)' "$out/$1.log" || true
}

run cli ./cmd/rigor 'TestKillPoints|TestLoad|TestFullDiskCLI'
run cas ./cas 'TestHostileTreeRefused|TestDecompressionBomb|TestWideTree|TestDeepChain|TestFullDisk|TestOpenAfterKill'
run ingest ./ingest 'TestMaterialize|TestImportRefuses|TestAddNamesSpecialFiles'
run remote ./remote 'TestPullHostileStore|TestClosureDeepAndWide'
run oci ./remote/oci 'TestPullHostileRegistry'
run verify ./verify 'TestVerifyDeepAndWide'
run exec ./exec 'TestOutputDir'

echo "== fuzz"
if ! FUZZTIME="${SOAK_FUZZTIME:-60s}" FUZZ_REPORT="$out/fuzz.txt" bash scripts/fuzz.sh; then
	status=1
fi
exit $status
