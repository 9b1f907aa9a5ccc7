"""Write data/breast_cancer.csv from the copy that ships with scikit-learn.

    python3 prepare_data.py

The Wisconsin diagnostic breast cancer data (569 patients, 30 features of
cell nuclei) is part of scikit-learn, so nothing is downloaded. Each row
gets a patient id, and the label is 1 for malignant (scikit-learn's target
is 0 for malignant). The row configs pin the file's SHA-256: if another
scikit-learn release ever ships different bytes, rigor run refuses the data
instead of recording a silently different experiment.
"""

import hashlib
import json
import os
import sys

from sklearn.datasets import load_breast_cancer

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> int:
    bunch = load_breast_cancer()
    names = [n.replace(" ", "_") for n in bunch.feature_names]
    lines = [",".join(["patient_id", *names, "malignant"])]
    for i, (row, target) in enumerate(zip(bunch.data, bunch.target), start=1):
        values = [repr(float(v)) for v in row]
        lines.append(",".join([f"BC{i:04d}", *values, str(1 - int(target))]))
    data = ("\n".join(lines) + "\n").encode()
    path = os.path.join(HERE, "data", "breast_cancer.csv")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(HERE, "configs", "exp-02.json"), encoding="utf-8") as f:
        pinned = json.load(f)["data"]["sha256"]
    print(f"wrote {len(lines) - 1} patients to {path}, sha256 {digest}", file=sys.stderr)
    if digest != pinned:
        print(f"error: the configs pin sha256 {pinned}; this scikit-learn ships other bytes", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
