"""Write data/visits.csv: a synthetic cohort, reproducible byte for byte.

    python3 make_data.py [PATH]     # default: data/visits.csv beside this file

150 patients with one to four clinic visits each. The outcome belongs to
the patient, and so does part of each measurement: visits of one patient
look alike. A split by row would put a patient's visits on both sides and
flatter the model; train.py splits by patient.
"""

import math
import os
import random
import sys

SEED = 20240229
PATIENTS = 150


def main() -> int:
    if os.environ.get("PYTHONHASHSEED") != str(SEED):
        # Hash randomisation is fixed only when PYTHONHASHSEED is set before
        # Python starts: start again with it set.
        env = dict(os.environ, PYTHONHASHSEED=str(SEED))
        os.execve(sys.executable, sys.orig_argv, env)
    random.seed(SEED)
    rows = ["patient_id,visit,age,systolic_bp,cholesterol,glucose,outcome"]
    for i in range(1, PATIENTS + 1):
        age = random.uniform(35, 80)
        frailty = random.gauss(0, 1)  # unobserved, shared by all visits
        bp_base = 120 + 0.4 * (age - 55) + 6 * frailty + random.gauss(0, 8)
        chol_base = 5.2 + 0.5 * frailty + random.gauss(0, 0.6)
        glu_base = 5.5 + 0.3 * frailty + random.gauss(0, 0.5)
        risk = -0.6 + 0.05 * (age - 55) + 0.9 * frailty
        outcome = 1 if random.random() < 1 / (1 + math.exp(-risk)) else 0
        for v in range(1, random.randint(1, 4) + 1):
            rows.append(
                f"P{i:04d},{v},{age:.0f},"
                f"{bp_base + random.gauss(0, 5):.1f},"
                f"{chol_base + random.gauss(0, 0.3):.2f},"
                f"{glu_base + random.gauss(0, 0.4):.2f},"
                f"{outcome}"
            )
    here = os.path.dirname(os.path.abspath(__file__))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "data", "visits.csv")
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("\n".join(rows) + "\n")
    print(f"wrote {len(rows) - 1} visits of {PATIENTS} patients to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
