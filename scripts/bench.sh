#!/usr/bin/env bash
# make bench: the store benchmark of issue 2, against b3sum, git and restic in
# the same run, plus the Go micro-benchmarks. Writes figures to BENCHMARKS.md.
#
#   SCALE=1.0  size of the generated tree (1.0 is about 1 GB)
#   WORK=bench-work  where data, stores and repositories go (deleted after unless KEEP=1)
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${SCALE:-1.0}
WORK=${WORK:-bench-work}
RIGOR=$PWD/bin/rigor

need=()
for tool in b3sum git restic; do command -v $tool >/dev/null 2>&1 || need+=($tool); done
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
	echo "bench: installing ${need[*]}" >&2
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
DATA=$WORK/data
if [ ! -f "$DATA/.complete-$SCALE" ]; then
	rm -rf "$DATA"
	echo "bench: generating data (scale $SCALE)" >&2
	go run ./internal/tools/benchgen -dir "$DATA" -scale "$SCALE"
	touch "$DATA/.complete-$SCALE"
fi
DATA_BYTES=$(du -sb --exclude='.complete-*' "$DATA" | cut -f1)
DATA_FILES=$(find "$DATA" -type f ! -name '.complete-*' | wc -l)
# Warm the page cache so that every tool reads from memory alike.
find "$DATA" -type f -print0 | xargs -0 cat >/dev/null

# measure NAME CMD...: runs CMD, adds its wall seconds, CPU seconds and
# peak RSS (KiB) to NAME's samples.
declare -A WALLS CPUSS RSSS WALL RSS CPUS RANGE
measure() {
	local name=$1; shift
	if ! /usr/bin/time -f '%e %M %U %S' -o "$WORK/$name.time" "$@" >/dev/null 2>"$WORK/$name.err"; then
		echo "bench: $name failed:" >&2; cat "$WORK/$name.err" >&2; exit 1
	fi
	local e m u s c
	read -r e m u s < <(tail -1 "$WORK/$name.time")
	c=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
	WALLS[$name]+=" $e"; CPUSS[$name]+=" $c"; RSSS[$name]+=" $m"
	printf 'bench: %-18s %8.2f s  %6.2f s CPU  %7d KiB peak\n' "$name" "$e" "$c" "$m" >&2
}
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { printf "%.2f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
maxof() { tr ' ' '\n' | grep . | sort -g | tail -1; }
span() { tr ' ' '\n' | grep . | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f–%.2f", lo, hi }'; }

# RUNS rounds, each with fresh stores: rigor, b3sum and restic take turns
# in every round, so load changes on the shared machine hit them alike; the
# tables report medians (and the range). git, 10-20 times slower than any
# of them, runs once.
RUNS=${RUNS:-3}
LOAD=$(cut -d' ' -f1 /proc/loadavg)
export RESTIC_PASSWORD=bench RESTIC_CACHE_DIR=$WORK/restic-cache
for round in $(seq "$RUNS"); do
	rm -rf "$WORK/rigor" "$WORK/restic" "$WORK/restic-cache"
	sync
	"$RIGOR" init "$WORK/rigor" -q
	measure rigor_add_first  "$RIGOR" --store "$WORK/rigor/.rigor" -q add "$DATA"
	measure rigor_add_again  "$RIGOR" --store "$WORK/rigor/.rigor" -q add "$DATA"
	measure b3sum            bash -c "find '$DATA' -type f -print0 | xargs -0 b3sum >/dev/null"
	restic init -q --repo "$WORK/restic" >/dev/null
	sync
	measure restic_first     restic -q --repo "$WORK/restic" backup "$DATA"
	measure restic_again     restic -q --repo "$WORK/restic" backup "$DATA"
done
rm -rf "$WORK/git"
mkdir -p "$WORK/git"
git init -q --bare "$WORK/git/repo.git"
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
measure git_add_commit   bash -c "GIT_DIR='$WORK/git/repo.git' GIT_WORK_TREE='$DATA' git add -A && GIT_DIR='$WORK/git/repo.git' GIT_WORK_TREE='$DATA' git commit -qm bench"
# Paired ratios: restic's first backup over rigor's first add in the same
# round (the machine's state drifts between rounds; within one it is alike
# for both). Reported next to the ratio of the medians.
PAIRED=$(paste <(echo "${WALLS[restic_first]}" | tr ' ' '\n' | grep .) <(echo "${WALLS[rigor_add_first]}" | tr ' ' '\n' | grep .) |
	awk '{ printf "%s%.1f", (NR > 1 ? " " : ""), $1 / $2 }')
PAIRED_MEDIAN=$(echo "$PAIRED" | median)
for name in "${!WALLS[@]}"; do
	WALL[$name]=$(echo "${WALLS[$name]}" | median)
	CPUS[$name]=$(echo "${CPUSS[$name]}" | median)
	RSS[$name]=$(echo "${RSSS[$name]}" | maxof)
	RANGE[$name]=$(echo "${WALLS[$name]}" | span)
done

SZ_RIGOR=$(du -sb "$WORK/rigor/.rigor" | cut -f1)
SZ_RESTIC=$(du -sb "$WORK/restic" | cut -f1)
SZ_GIT=$(du -sb "$WORK/git/repo.git" | cut -f1)
# Disk actually allocated (du -s, KiB blocks): Badger's DISCARD file is 1 MiB
# of mostly holes; the verdict below uses the stricter apparent sizes.
DU_RIGOR=$(( $(du -sk "$WORK/rigor/.rigor" | cut -f1) * 1024 ))
DU_RESTIC=$(( $(du -sk "$WORK/restic" | cut -f1) * 1024 ))

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == 0) a = 0.001; printf "%.1f", b / a }'; }
mb() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1048576 }'; }
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { if (s == 0) s = 0.001; printf "%.0f", b / 1048576 / s }'; }

# verdict COND: "met" or "NOT met", COND evaluated by awk.
verdict() { awk "BEGIN { print (($1) ? \"met\" : \"NOT met\") }"; }
PEAK_KIB=$(( RSS[rigor_add_first] > RSS[rigor_add_again] ? RSS[rigor_add_first] : RSS[rigor_add_again] ))
TARGETS=$(cat <<TGT
Targets (issue 2): first add ≥ 4x faster than restic's first backup: $(verdict "${WALL[restic_first]} >= 4 * ${WALL[rigor_add_first]}");
≥ 15x faster than git: $(verdict "${WALL[git_add_commit]} >= 15 * ${WALL[rigor_add_first]}");
unchanged re-add ≤ 1/4 of restic's second backup: $(verdict "${WALL[restic_again]} >= 4 * ${WALL[rigor_add_again]}");
store no larger than restic's repository: $(verdict "$SZ_RIGOR <= $SZ_RESTIC");
peak memory under 400 MB: $(verdict "$PEAK_KIB * 1024 < 400000000") ($((PEAK_KIB/1024)) MiB).
TGT
)

CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
NCPU=$(nproc)
TABLE=$(cat <<TBL
Data: $(mb "$DATA_BYTES") MiB in $DATA_FILES files (scale $SCALE), warm page cache. Machine: $CPU, $NCPU cores, load average $LOAD at the start (the machine is shared: compare ratios within one run). $(date -u +%Y-%m-%d).
Command: \`make bench\` (scripts/bench.sh): $RUNS rounds with fresh stores, rigor, b3sum and restic in turn in each; git once. restic $(restic version | cut -d' ' -f2), git $(git --version | cut -d' ' -f3), b3sum $(b3sum --version | cut -d' ' -f2).

| step | wall s (median) | range | CPU s | MiB/s | peak RSS MiB | ratio (peer / rigor, medians) |
|---|---:|---:|---:|---:|---:|---|
| rigor add (first) | ${WALL[rigor_add_first]} | ${RANGE[rigor_add_first]} | ${CPUS[rigor_add_first]} | $(mbps "$DATA_BYTES" "${WALL[rigor_add_first]}") | $((RSS[rigor_add_first]/1024)) | restic first / rigor = $(ratio "${WALL[rigor_add_first]}" "${WALL[restic_first]}")x (target ≥ 4x; round by round: ${PAIRED}, median ${PAIRED_MEDIAN}x; CPU time $(ratio "${CPUS[rigor_add_first]}" "${CPUS[restic_first]}")x); git / rigor = $(ratio "${WALL[rigor_add_first]}" "${WALL[git_add_commit]}")x (target ≥ 15x) |
| rigor add (unchanged) | ${WALL[rigor_add_again]} | ${RANGE[rigor_add_again]} | ${CPUS[rigor_add_again]} | $(mbps "$DATA_BYTES" "${WALL[rigor_add_again]}") | $((RSS[rigor_add_again]/1024)) | restic second / rigor = $(ratio "${WALL[rigor_add_again]}" "${WALL[restic_again]}")x (target ≥ 4x) |
| b3sum (hash only) | ${WALL[b3sum]} | ${RANGE[b3sum]} | ${CPUS[b3sum]} | $(mbps "$DATA_BYTES" "${WALL[b3sum]}") | $((RSS[b3sum]/1024)) | b3sum / rigor first = $(ratio "${WALL[rigor_add_first]}" "${WALL[b3sum]}")x |
| git add -A && commit | ${WALL[git_add_commit]} | ${RANGE[git_add_commit]} | ${CPUS[git_add_commit]} | $(mbps "$DATA_BYTES" "${WALL[git_add_commit]}") | $((RSS[git_add_commit]/1024)) | |
| restic backup (first) | ${WALL[restic_first]} | ${RANGE[restic_first]} | ${CPUS[restic_first]} | $(mbps "$DATA_BYTES" "${WALL[restic_first]}") | $((RSS[restic_first]/1024)) | |
| restic backup (second) | ${WALL[restic_again]} | ${RANGE[restic_again]} | ${CPUS[restic_again]} | $(mbps "$DATA_BYTES" "${WALL[restic_again]}") | $((RSS[restic_again]/1024)) | |

| store | bytes (du -sb) | size MiB | vs restic | on disk (du -s) |
|---|---:|---:|---:|---:|
| rigor .rigor/ | $SZ_RIGOR | $(mb "$SZ_RIGOR") | $(awk -v a="$SZ_RIGOR" -v b="$SZ_RESTIC" 'BEGIN { printf "%.4f", a / b }')x | $DU_RIGOR |
| restic repository | $SZ_RESTIC | $(mb "$SZ_RESTIC") | 1.0000x | $DU_RESTIC |
| git objects | $SZ_GIT | $(mb "$SZ_GIT") | $(awk -v a="$SZ_GIT" -v b="$SZ_RESTIC" 'BEGIN { printf "%.4f", a / b }')x | |

$TARGETS
TBL
)
echo "$TABLE"

# Replace the store section of BENCHMARKS.md between its markers.
[ -f BENCHMARKS.md ] || printf '# Benchmarks\n\nFigures are ratios against peers measured in the same run; the machines are noisy.\n' > BENCHMARKS.md
python3 - "$TABLE" <<'PY'
import sys, re
table = sys.argv[1]
begin, end = "<!-- bench:store:begin -->", "<!-- bench:store:end -->"
text = open("BENCHMARKS.md").read()
block = f"{begin}\n{table}\n{end}"
if begin in text:
    text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda m: block, text, flags=re.S)
else:
    text = text.rstrip("\n") + "\n\n## Store: `rigor add` against b3sum, git and restic (issue 2)\n\n" + block + "\n"
open("BENCHMARKS.md", "w").write(text)
PY
[ "${KEEP:-0}" = 1 ] || rm -rf "$WORK/rigor" "$WORK/git" "$WORK/restic" "$WORK/restic-cache"
