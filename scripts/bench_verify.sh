#!/usr/bin/env bash
# The verification benchmarks of issue 5, written to the "## Verify" section
# of BENCHMARKS.md:
#   - rigor verify --deep of a run holding 1 GiB of inputs and outputs,
#     against b3sum over the same files (target: at least 70% of its speed);
#   - rigor lineage and rigor runs --row on a generated store of 10,000 runs
#     (targets: medians under 20 ms and 50 ms).
# Each figure is the median of COUNT runs; the Go benchmarks measure the
# library call on an open store, the CLI rows the whole command (process
# start, store open and close included).
#
#   COUNT=5                        repetitions
#   RIGOR_BENCH_DIR=bench-work/verify   data and stores (kept between runs)
#   RIGOR_BENCH_SIZE_MB, RIGOR_BENCH_RUNS  scale down for a quick look
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-5}
export RIGOR_BENCH_DIR=${RIGOR_BENCH_DIR:-bench-work/verify}
mkdir -p "$RIGOR_BENCH_DIR"
RIGOR_BENCH_DIR=$(cd "$RIGOR_BENCH_DIR" && pwd)
OUT=$RIGOR_BENCH_DIR/results
mkdir -p "$OUT"
command -v b3sum >/dev/null || { echo "bench_verify: b3sum is needed (apt-get install b3sum)" >&2; exit 1; }

go build -o "$OUT/rigor" ./cmd/rigor

# The Go benchmarks build the data on their first run. SKIP_GO=1 keeps the
# figures of the previous run (to redo only the command-line timings).
[ "${SKIP_GO:-}" = 1 ] && [ -s "$OUT/go-bench.txt" ] || go test ./verify -run '^$' -count "$COUNT" -benchtime 3x \
	-bench '^(BenchmarkVerifyDeep1GB|BenchmarkStoreRead1GB|BenchmarkBLAKE3Files1GB|BenchmarkLineage10k|BenchmarkLineageDirect10k|BenchmarkRunsByRow10k|BenchmarkRunsByInput10k)$' \
	| tee "$OUT/go-bench.txt"
grep '^Benchmark' "$OUT/go-bench.txt" >&2 || true

RUN=$RIGOR_BENCH_DIR/deep/run
STORE_DEEP=$RIGOR_BENCH_DIR/deep/store
STORE_10K=$RIGOR_BENCH_DIR/runs10k/store
mapfile -t FILES < <(find "$RUN" -type f | sort)
BYTES=$(cat "${FILES[@]}" | wc -c)
cat "${FILES[@]}" >/dev/null # warm the page cache for both tools

# once NAME CMD...: appends "wall user sys" seconds of one run of CMD. The
# wall time is taken here in nanoseconds (GNU time's %e has centiseconds,
# truncated, too coarse for the 20 ms queries); it includes starting
# /usr/bin/time, so it errs on the slow side.
once() {
	local name=$1; shift
	local t0 t1 cpu
	t0=$(date +%s%N)
	/usr/bin/time -f '%U %S' -o "$OUT/$name.cpu" "$@" >/dev/null 2>"$OUT/$name.err" || {
		echo "bench_verify: $name failed" >&2; cat "$OUT/$name.err" >&2; exit 1; }
	t1=$(date +%s%N)
	cpu=$(tail -1 "$OUT/$name.cpu")
	echo "$(( (t1 - t0) / 1000 ))e-6 $cpu" >>"$OUT/$name.times"
}
# wall NAME CMD...: COUNT wall-clock seconds of CMD, one per line (CPU
# times 0: not measured). Bash's EPOCHREALTIME reads the clock without
# starting a process, so the figure is the command's own start to end
# (plus bash's fork and exec of it).
wall() {
	local name=$1; shift
	: >"$OUT/$name.times"
	local t0 t1
	for _ in $(seq "$COUNT"); do
		t0=$EPOCHREALTIME
		"$@" >/dev/null 2>"$OUT/$name.err" || { echo "bench_verify: $name failed" >&2; cat "$OUT/$name.err" >&2; exit 1; }
		t1=$EPOCHREALTIME
		echo "$(( ${t1/./} - ${t0/./} ))e-6 0 0" >>"$OUT/$name.times"
	done
}
# b3sum and rigor verify --deep alternate, so that both see the same load.
: >"$OUT/b3sum.times"
: >"$OUT/cli-verify-deep.times"
for _ in $(seq "$COUNT"); do
	once b3sum b3sum "${FILES[@]}"
	once cli-verify-deep "$OUT/rigor" --store "$STORE_DEEP" verify --deep BIG__seed-42__attempt-1
done
printf 'p\n42.%d\n' "$(( ${RIGOR_BENCH_RUNS:-10000} / 200 ))" >"$OUT/target.csv"
# The queries take milliseconds: QCOUNT (default 21) runs each.
COUNT=${QCOUNT:-21} wall cli-lineage "$OUT/rigor" --store "$STORE_10K" lineage "$OUT/target.csv"
COUNT=${QCOUNT:-21} wall cli-runs-row "$OUT/rigor" --store "$STORE_10K" runs --row EXP-042

python3 - "$OUT" "$BYTES" "$COUNT" "${QCOUNT:-21}" <<'EOF'
import re, statistics, sys, datetime, platform, subprocess
out, nbytes, count, qcount = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
mib = nbytes / 2**20
bench = {}
for line in open(f"{out}/go-bench.txt"):
    m = re.match(r"Benchmark(\w+?)-\d+\s+\d+\s+([\d.]+) ns/op", line)
    if m:
        bench.setdefault(m.group(1), []).append(float(m.group(2)))
med = {k: statistics.median(v) for k, v in bench.items()}
def rows_of(name):
    return [list(map(float, l.split())) for l in open(f"{out}/{name}.times") if l.strip()]
def times(name):
    return statistics.median(r[0] for r in rows_of(name))
def cpu_seconds(name):
    return statistics.median(r[1] + r[2] for r in rows_of(name))
b3 = times("b3sum"); cli_deep = times("cli-verify-deep")
go_deep = med["VerifyDeep1GB"] / 1e9
go_b3 = med["BLAKE3Files1GB"] / 1e9
go_read = med["StoreRead1GB"] / 1e9
rate = lambda s: mib / s
verdict = lambda ok: "met" if ok else "NOT met"
load = open("/proc/loadavg").read().split()[0]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
import os
b3ver = subprocess.run(["b3sum", "--version"], capture_output=True, text=True).stdout.strip()
ms = lambda ns: ns / 1e6
rows = [
    f"Data: one run of {mib:.0f} MiB (8 input shards and predictions.csv, pseudo-random so stored uncompressed); "
    f"a store of {os.environ.get('RIGOR_BENCH_RUNS', '10000')} runs (100 rows, each seed reading the previous seed's predictions). "
    f"Machine: {cpu}, {os.cpu_count()} cores, shared (load average {load} at the end). {datetime.date.today()}. {b3ver}.",
    f"Command: `scripts/bench_verify.sh` (COUNT={count}: medians of {count} runs; QCOUNT={qcount} runs of each command-line query; Go benchmarks `go test ./verify -bench ...` with RIGOR_BENCH_DIR).",
    "",
    "| measurement | median | rate | vs target |",
    "|---|---:|---:|---|",
    f"| b3sum over the run's files (CLI) | {b3:.3f} s | {rate(b3):.0f} MiB/s | |",
    f"| `rigor verify --deep` (CLI: open, verify, close) | {cli_deep:.3f} s | {rate(cli_deep):.0f} MiB/s | {100*b3/cli_deep:.0f}% of b3sum (target ≥ 70%: {verdict(b3/cli_deep >= 0.7)}) |",
    f"| CPU seconds (user + sys): b3sum / rigor verify --deep | {cpu_seconds('b3sum'):.2f} s / {cpu_seconds('cli-verify-deep'):.2f} s | | rigor costs {cpu_seconds('cli-verify-deep')/max(cpu_seconds('b3sum'),1e-9):.1f}x b3sum's CPU |",
    f"| verify.Run Deep (BenchmarkVerifyDeep1GB, store open) | {go_deep:.3f} s | {rate(go_deep):.0f} MiB/s | {100*b3/go_deep:.0f}% of b3sum |",
    f"| reading every blob through cas.Getter.Open, nothing else (BenchmarkStoreRead1GB) | {go_read:.3f} s | {rate(go_read):.0f} MiB/s | {100*b3/go_read:.0f}% of b3sum |",
    f"| BLAKE3 of the same files in Go, 2 at a time (BenchmarkBLAKE3Files1GB) | {go_b3:.3f} s | {rate(go_b3):.0f} MiB/s | {100*b3/go_b3:.0f}% of b3sum |",
    f"| `rigor lineage FILE`, whole chain both ways (CLI) | {1000*times('cli-lineage'):.1f} ms | | target < 20 ms: {verdict(times('cli-lineage') < 0.020)} |",
    f"| verify.TraceLineage, whole chain (BenchmarkLineage10k) | {ms(med['Lineage10k']):.1f} ms | | target < 20 ms |",
    f"| verify.TraceLineage, depth 1 (BenchmarkLineageDirect10k) | {ms(med['LineageDirect10k']):.2f} ms | | |",
    f"| `rigor runs --row EXP-042` (CLI) | {1000*times('cli-runs-row'):.1f} ms | | target < 50 ms: {verdict(times('cli-runs-row') < 0.050)} |",
    f"| verify.ListRuns by row, 100 runs (BenchmarkRunsByRow10k) | {ms(med['RunsByRow10k']):.2f} ms | | target < 50 ms |",
    f"| verify.RunsUsing, runs --input (BenchmarkRunsByInput10k) | {ms(med['RunsByInput10k']):.3f} ms | | |",
]
rows += [
    "",
    "Reading the figures. `verify --deep` checks each blob with cas.Store.Verify, two blobs at a time, largest first: "
    "one BLAKE3 pass over the whole content (raw chunks hashed in place in the pack file's read-only mapping, no copy), the chunks "
    "re-checked one by one only to name a damaged one. The manifest's SHA-256 sums come from the index ingest filled from "
    "the same bytes (`--sha256` recomputes them: SHA-256 runs at about a third of BLAKE3's speed here). b3sum hashes with "
    "AVX-512 and memory-mapped files on both cores; zeebo/blake3 uses AVX2, so the Go BLAKE3 row (the same files, two at "
    "a time, from a buffer) is near the ceiling of any verification in Go. The store-read row reads through "
    "cas.Getter.Open, which checks every chunk against its key and the whole content as well (two hashes per byte, for "
    "readers that must never see an unverified byte). The CLI rows include the process start (about 8 ms, of which "
    "3 ms is jsonschema's package initialisation) and the store's open and close (read-only: 1-3 ms each). "
    "The lineage query follows the chain through the run-io index (one entry per run: the digests of its data inputs "
    "and outputs, written with its lineage entries) and reads no manifest; runs recorded before that index existed are "
    "read from their bundles, which made the same query 4-6 ms and the command 19-22 ms.",
]
section = "\n".join(rows) + "\n"
p = "BENCHMARKS.md"
text = open(p).read()
begin, end = "<!-- bench:verify:begin -->", "<!-- bench:verify:end -->"
if begin not in text:
    text = text.rstrip("\n") + "\n\n## Verify: deep verification, lineage and run queries (issue 5)\n\n" + begin + "\n" + end + "\n"
i, j = text.index(begin) + len(begin), text.index(end)
text = text[:i] + "\n" + section + text[j:]
open(p, "w").write(text)
print(section)
EOF
