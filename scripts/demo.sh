#!/usr/bin/env bash
# make demo: the main job on the embedded store, in a scratch directory.
set -euo pipefail
cd "$(dirname "$0")/.."
RIGOR=$PWD/bin/rigor
DEMO=${DEMO_DIR:-$(mktemp -d /tmp/rigor-demo.XXXXXX)}
mkdir -p "$DEMO" && cd "$DEMO"
step() { printf '\n== %s\n' "$*"; }

step "create a project with some experiment files"
mkdir -p project/src project/data
cat > project/src/train.py <<'PY'
import random
random.seed(42)
print(sum(random.random() for _ in range(1000)))
PY
python3 -c "import random; random.seed(1); print('\n'.join(f'{i},{random.random():.6f}' for i in range(10000)))" > project/data/input.csv
cd project

step "rigor init"
"$RIGOR" init
step "rigor add src data"
"$RIGOR" add src data
root=$("$RIGOR" add -q src)
step "rigor ls $root"
"$RIGOR" ls "$root"
step "rigor get ${root:7:12} -o restored-src"
"$RIGOR" get "${root:7:12}" -o restored-src
diff -r src restored-src && echo "restored tree is identical"
step "rigor fsck"
"$RIGOR" fsck

printf '\nDemo done. The store is %s/project/.rigor\n' "$DEMO"
