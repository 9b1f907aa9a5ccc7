#!/usr/bin/env bash
# scripts/cuda_check.sh: the CUDA same-seed check of issue 4, for a machine
# with an NVIDIA GPU and PyTorch. It trains examples/torch_cuda twice under
# rigor with the same seed, compares the two runs (rigor compare: identity,
# then every artifact's digest), and writes what BENCHMARKS.md records: the
# outcome, the predictions digests and the GPU environment rigor captured.
#
#   scripts/cuda_check.sh              bin/rigor (built here when go is on PATH;
#                                      on the device machine, which has no Go,
#                                      build it first and carry bin/rigor)
#   RIGOR=path/to/rigor scripts/cuda_check.sh
#   OUT=dir                            where the report goes (default: a new temp dir)
#
# Exit status: 0 when the two runs are identical, 3 when rigor compare finds
# them different, 2 when this is no GPU machine (nothing is run).
#
# For checking the script's own flow on a machine without a GPU:
# CUDA_CHECK_SKIP_PREFLIGHT=1 and CUDA_CHECK_PROGRAM="cmd ..." replace the
# GPU checks and the training command.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/cuda-check.XXXXXX")}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

if [ "${CUDA_CHECK_SKIP_PREFLIGHT:-}" != 1 ]; then
	if ! command -v nvidia-smi >/dev/null 2>&1; then
		echo "cuda_check: nvidia-smi not found: this is no NVIDIA GPU machine; nothing was run" >&2
		exit 2
	fi
	if ! "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
		echo "cuda_check: $PYTHON has no torch with CUDA (import torch; torch.cuda.is_available()); nothing was run" >&2
		exit 2
	fi
fi
RIGOR=${RIGOR:-$ROOT/bin/rigor}
if [ ! -x "$RIGOR" ]; then
	command -v go >/dev/null 2>&1 || { echo "cuda_check: no rigor at $RIGOR and no go to build it; build bin/rigor and carry it" >&2; exit 2; }
	(cd "$ROOT" && go build -o bin/rigor ./cmd/rigor)
	RIGOR=$ROOT/bin/rigor
fi
RIGOR=$(cd "$(dirname "$RIGOR")" && pwd)/$(basename "$RIGOR")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cuda-check-work.XXXXXX")
cp -r "$ROOT/examples/torch_cuda/." "$WORK/"
cd "$WORK"
"$PYTHON" make_data.py
"$RIGOR" init -q >/dev/null
CONFIG=configs/cuda-01.json
read -r -a PROGRAM <<<"${CUDA_CHECK_PROGRAM:-$PYTHON train.py --config $CONFIG}"
for attempt in 1 2; do
	echo "== run $attempt: ${PROGRAM[*]}"
	"$RIGOR" run --config "$CONFIG" --input "data=data/synthetic.csv@make_data.py seed 20261126" -- "${PROGRAM[@]}" 2>&1 | tee "$OUT/run-$attempt.log"
done
A=CUDA-01__seed-1234__attempt-1
B=CUDA-01__seed-1234__attempt-2
set +e
"$RIGOR" compare --json "$A" "$B" >"$OUT/compare.json"
verdict=$?
"$RIGOR" compare "$A" "$B" | tee "$OUT/compare.txt"
set -e
for r in "$A" "$B"; do
	"$RIGOR" export "$r" "$OUT/$r" >/dev/null
done

"$PYTHON" - "$OUT" "$A" "$B" "$verdict" <<'PY' | tee "$OUT/cuda_check.md"
import json, sys, datetime
out, a, b, verdict = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
cmp = json.load(open(f"{out}/compare.json"))
def manifest(run):
    return json.load(open(f"{out}/{run}/manifest.json"))
def env(run):
    return json.load(open(f"{out}/{run}/environment.json"))
ma, mb = manifest(a), manifest(b)
pa = (ma.get("artifacts", {}).get("predictions") or {})
pb = (mb.get("artifacts", {}).get("predictions") or {})
e = env(a)
def pick(d, *keys):
    for k in keys:
        if isinstance(d, dict) and k in d:
            d = d[k]
        else:
            return None
    return d
gpu = e.get("gpu") or pick(e, "hardware", "gpu")
print(f"CUDA same-seed check, {datetime.date.today()}: `scripts/cuda_check.sh` (examples/torch_cuda, seed 1234, two attempts).")
print()
print(f"- rigor compare {a} {b}: {'PASS, identical' if verdict == 0 else 'FAIL (exit %d)' % verdict}; same_seed_exact = {cmp.get('same_seed_exact')}")
print(f"- predictions.csv sha256: {pa.get('sha256')} / {pb.get('sha256')}")
print(f"- predictions.csv blake3: {pa.get('blake3')} / {pb.get('blake3')}")
print(f"- GPU, driver, CUDA and cuDNN as rigor recorded them: {json.dumps(gpu)}")
if cmp.get("errors"):
    print(f"- differences: {json.dumps(cmp['errors'])}")
PY
echo "cuda_check: report in $OUT/cuda_check.md, runs exported under $OUT" >&2
exit "$verdict"
