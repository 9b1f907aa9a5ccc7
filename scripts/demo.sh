#!/usr/bin/env bash
# make demo: rigor's main job, start to end, on a machine with only Go and
# python3. It builds rigor, copies the standard-library example
# (examples/stdlib) into a scratch directory, records two runs with the
# same seed and one with another, verifies them, compares the pair, diffs
# the other seed, traces the data's lineage, runs the gates (and shows the
# leakage gate catching examples/leaky), writes the checkpoint, exports one
# run, and ends with a summary of what happened and where everything is.
#
# Environment: DEMO_DIR (default: a new directory under /tmp), PYTHON
# (default python3), RIGOR (default: bin/rigor, built here unless make
# just built it).
#
# Every step's output is kept in $DEMO_DIR/logs/<step>.log and its exit
# status in $DEMO_DIR/steps.tsv (step, expected, got); a step that exits
# otherwise than expected stops the demo with status 1.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}
DEMO=${DEMO_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/rigor-demo.XXXXXX")}
SECONDS=0

mkdir -p "$DEMO"
DEMO=$(cd "$DEMO" && pwd)
if [ -n "$(ls -A "$DEMO")" ]; then
	echo "demo: $DEMO is not empty; give DEMO_DIR a new or empty directory" >&2
	exit 2
fi
LOGS=$DEMO/logs
mkdir -p "$LOGS"
printf 'step\texpected\tgot\n' >"$DEMO/steps.tsv"

if [ -z "${RIGOR:-}" ]; then
	RIGOR=$ROOT/bin/rigor
	# Under "make demo" the build target has just built it.
	if [ -z "${MAKELEVEL:-}" ] || [ ! -x "$RIGOR" ]; then
		echo "== build rigor"
		echo "\$ go build -o bin/rigor ./cmd/rigor"
		(cd "$ROOT" && go build -o bin/rigor ./cmd/rigor)
	fi
fi
RIGOR=$(cd "$(dirname "$RIGOR")" && pwd)/$(basename "$RIGOR")
# rigor on PATH, for the steps and for the commands the checkpoint runs.
mkdir -p "$DEMO/bin"
ln -s "$RIGOR" "$DEMO/bin/rigor"
export PATH="$DEMO/bin:$PATH"
if ! "$PYTHON" -c 'import sys; assert sys.version_info >= (3, 8)' 2>/dev/null; then
	echo "demo: $PYTHON is not Python 3.8 or later; set PYTHON" >&2
	exit 2
fi

# step ID EXPECTED-EXIT TITLE -- COMMAND...: print the title and the
# command, run it with its output shown and logged, and stop unless it
# exits EXPECTED-EXIT.
step() {
	local id=$1 want=$2 title=$3
	shift 4
	printf '\n== %s\n$ %s\n' "$title" "$(quote "$@")"
	local got=0
	set +e
	"$@" >"$LOGS/$id.log" 2>&1
	got=$?
	set -e
	cat "$LOGS/$id.log"
	printf '%s\t%s\t%s\n' "$id" "$want" "$got" >>"$DEMO/steps.tsv"
	if [ "$got" != "$want" ]; then
		printf '\ndemo: step %s exited %s, expected %s (log: %s)\n' "$id" "$got" "$want" "$LOGS/$id.log" >&2
		exit 1
	fi
}

# quote ARGS...: the command line as a shell would read it back.
quote() {
	local a out=""
	for a in "$@"; do
		case $a in
		*[!A-Za-z0-9_./:=,@+-]* | "") a="'${a//\'/\'\\\'\'}'" ;;
		esac
		out="$out${out:+ }$a"
	done
	printf '%s' "$out"
}

# has COMMAND...: whether this rigor has the (sub)command.
has() { "$RIGOR" "$@" --help 2>/dev/null | grep -Eq "^  rigor $*( |$)"; }

# skip ID TITLE: note a step whose command has not landed in this build.
skip() {
	printf '\n== %s\n(skipped: this rigor has no "%s" command yet)\n' "$2" "$3"
	printf '%s\tskip\tskip\n' "$1" >>"$DEMO/steps.tsv"
}

echo "== the project: a copy of examples/stdlib in $DEMO/project"
cp -R "$ROOT/examples/stdlib" "$DEMO/project"
cp -R "$ROOT/examples/leaky" "$DEMO/leaky"
cd "$DEMO/project"
if command -v git >/dev/null 2>&1; then
	# A git work tree, so that each run records the commit it ran.
	git init -q
	git add -A
	GIT_AUTHOR_DATE=2024-01-01T00:00:00Z GIT_COMMITTER_DATE=2024-01-01T00:00:00Z \
		git -c user.name=demo -c user.email=demo@example.invalid -c commit.gpgsign=false \
		commit -q -m "stdlib example"
	echo "(git: committed as $(git rev-parse --short HEAD))"
fi

A1=EXP-01__seed-42__attempt-1
A2=EXP-01__seed-42__attempt-2
S7=EXP-01__seed-7__attempt-1
# Each run's outputs ($RIGOR_OUT) are kept in $DEMO/outputs/<run> as well
# as in the store: outside the project, so no run's code snapshot holds
# another run's outputs.
RUN42=(--config configs/exp-01.json --schema configs/experiment.schema.json)
CMD42=(-- "$PYTHON" train.py --config configs/exp-01.json)
RUN7=(--config configs/exp-01-seed-7.json --schema configs/experiment.schema.json)
CMD7=(-- "$PYTHON" train.py --config configs/exp-01-seed-7.json)
OUT=$DEMO/outputs

step init 0 "create a store" -- rigor init
step run-42-a 0 "run EXP-01 with seed 42" -- rigor run "${RUN42[@]}" --out "$OUT/$A1" "${CMD42[@]}"
step run-42-b 0 "run it again: same config, same seed" -- rigor run "${RUN42[@]}" --out "$OUT/$A2" "${CMD42[@]}"
step run-7 0 "run EXP-01 with seed 7" -- rigor run "${RUN7[@]}" --out "$OUT/$S7" "${CMD7[@]}"
step runs 0 "list the runs" -- rigor runs
step show 0 "show one run" -- rigor show "$A1"

if has verify; then
	step verify 0 "verify every run: Light run-artifact rules and every stored byte" -- rigor verify --all --deep
else skip verify "verify the runs" verify; fi
if has compare; then
	step compare 0 "compare the same-seed pair: must be exact" -- rigor compare "$A1" "$A2"
else skip compare "compare the same-seed pair" compare; fi
if has diff; then
	step diff 0 "diff seed 42 against seed 7: what the seed changed" -- rigor diff "$A1" "$S7"
else skip diff "diff the seeds" diff; fi
if has lineage; then
	step lineage 0 "lineage of the data file: which runs used it" -- rigor lineage data/visits.csv
else skip lineage "lineage of the data file" lineage; fi

# The gates run from $DEMO on the project, the leaky variant and the
# seed-42 run's folds; each passing gate also writes its light.findings.v1
# report to findings/, which the checkpoint aggregates.
cd "$DEMO"
mkdir -p findings
if has gate review; then
	step gate-review 0 "gate review: secrets, eval/exec, shell, float ==, bare except" -- \
		rigor gate review --report findings/review.json project
else skip gate-review "gate review" "gate review"; fi
if has gate seeds; then
	step gate-seeds 0 "gate seeds: every generator in use is seeded" -- \
		rigor gate seeds --report findings/seeds.json project
else skip gate-seeds "gate seeds" "gate seeds"; fi
if has gate leakage; then
	step gate-leakage 0 "gate leakage: the example fits its scaler inside each fold" -- \
		rigor gate leakage --report findings/leakage.json project
	step gate-leakage-leaky 4 "gate leakage on examples/leaky (scaler fitted before the split): caught, exit 4" -- \
		rigor gate leakage leaky
else
	skip gate-leakage "gate leakage" "gate leakage"
	skip gate-leakage-leaky "gate leakage on examples/leaky" "gate leakage"
fi
if has gate split; then
	step gate-split 0 "gate split: the folds of the seed-42 run share no patient and no row" -- \
		rigor gate split --report findings/split.json --csv "outputs/$A1/folds.csv" --split-col fold \
		--group-col patient_id --target outcome --cols age,systolic_bp,cholesterol,glucose
else skip gate-split "gate split" "gate split"; fi
if has gate repro; then
	# The stage-6 repro gate: the code and the split of the run under review.
	cat >repro_spec.json <<SPEC
{
  "project": "examples/stdlib EXP-01",
  "code_files": ["project/train.py", "project/make_data.py"],
  "leakage": {
    "csv": "outputs/$A1/folds.csv",
    "split_col": "fold",
    "group_col": "patient_id",
    "target": "outcome",
    "cols": "age,systolic_bp,cholesterol,glucose"
  }
}
SPEC
	step gate-repro 0 "gate repro: leakage, seeding, float == and unsafe code together (repro_spec.json)" -- \
		rigor gate repro --report findings/repro.json --spec repro_spec.json
else skip gate-repro "gate repro" "gate repro"; fi
cd "$DEMO/project"
if has gate contract; then
	# The execution contract: what was planned, what ran, how far it
	# reproduced, and the decision; the run's part is drafted from the store.
	step contract-draft 0 "draft the execution contract from the store (write_contract.py)" -- \
		"$PYTHON" write_contract.py --run "$A1" --pair "$A2" --out contract.json
	step gate-contract 0 "gate contract --runs: every claim checked against the stored runs" -- \
		rigor gate contract --runs --spec contract.json --report ../findings/contract.json
else
	skip contract-draft "draft the execution contract" "gate contract"
	skip gate-contract "gate contract" "gate contract"
fi
if has checkpoint; then
	# Stage 6 of the project's Light passport (.light/passport.yaml): the
	# gates' reports, and the same-seed comparison run again as a gate.
	reports=""
	for g in contract review seeds leakage split repro; do
		[ -f "../findings/$g.json" ] && reports="$reports${reports:+,}../findings/$g.json"
	done
	step checkpoint 0 "checkpoint stage 6: the gates and the same-seed pair, written to the passport" -- \
		rigor checkpoint --stage 6 --findings "$reports" --gate "same_seed_exact=rigor compare $A1 $A2" \
		--ts "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --write --report ../findings/checkpoint.json
else skip checkpoint "checkpoint" checkpoint; fi
if has check; then
	step check 0 "check: the whole stage-6 sequence in one command, as CI runs it (rigor-check.yaml)" -- rigor check
else skip check "check" check; fi
if has export; then
	mkdir -p "$DEMO/export"
	step export 0 "export one run as a Light run directory" -- rigor export "$A1" "$DEMO/export/$A1"
else skip export "export one run" export; fi

# ok ID: whether step ID ran and exited as expected.
ok() { awk -F'\t' -v id="$1" '$1==id && $2==$3 && $2!="skip" {found=1} END {exit !found}' "$DEMO/steps.tsv"; }

{
	printf '\n== summary (%ss)\n' "$SECONDS"
	printf '  recorded   3 runs of EXP-01 (rigor runs): %s, %s, %s\n' "$A1" "$A2" "$S7"
	ok compare &&
		printf '  compare    seed 42 twice: identical (same_seed_exact)\n'
	ok diff &&
		printf '  diff       seed 7 against seed 42: config seed, fold assignment, predictions and metrics differ\n'
	ok gate-leakage-leaky &&
		printf '  gates      review, seeds, leakage, split and repro pass; examples/leaky fails leakage (exit 4)\n'
	ok gate-contract &&
		printf '  contract   every claim backed by the store; one limitation: no cache is declared\n'
	ok check &&
		printf '  check      the stage-6 sequence passes (rigor-check.yaml)\n'
	printf '  project    %s (a git repository; the example code and data)\n' "$DEMO/project"
	printf '  store      %s\n' "$DEMO/project/.rigor"
	ok checkpoint &&
		printf '  passport   %s (stage 6 delivered, with its gate record)\n' "$DEMO/project/.light/passport.yaml"
	[ -d "$DEMO/findings" ] &&
		printf '  findings   %s/*.json (light.findings.v1 of each gate and the checkpoint)\n' "$DEMO/findings"
	printf '  outputs    %s/<run>/ (each run'"'"'s RIGOR_OUT: predictions.csv, raw_metrics.jsonl, folds.csv)\n' "$OUT"
	[ -d "$DEMO/export/$A1" ] && printf '  export     %s\n' "$DEMO/export/$A1"
	printf '  logs       %s/<step>.log; exit statuses in %s\n' "$LOGS" "$DEMO/steps.tsv"
	if grep -q 'skip' "$DEMO/steps.tsv"; then
		printf '  skipped    %s (not in this build)\n' "$(awk -F'\t' '$2=="skip"{printf "%s ", $1}' "$DEMO/steps.tsv")"
	fi
	printf 'demo: ok\n'
} | tee "$DEMO/summary.txt"
