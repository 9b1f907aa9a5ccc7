"""Write the synthetic data of the torch CUDA example: data/synthetic.csv.

    python3 make_data.py

EXAMPLES rows of FEATURES standard-normal features x0..x31 and a binary
label y from a fixed linear rule plus noise, drawn with the standard
library's random from a fixed seed: the same bytes on every machine.
"""

import csv
import os
import random

EXAMPLES, FEATURES, SEED = 20000, 32, 20261126


def main():
    rng = random.Random(SEED)
    w = [rng.gauss(0, 1) for _ in range(FEATURES)]
    os.makedirs("data", exist_ok=True)
    with open("data/synthetic.csv", "w", newline="") as f:
        out = csv.writer(f)
        out.writerow([f"x{i}" for i in range(FEATURES)] + ["y"])
        for _ in range(EXAMPLES):
            x = [rng.gauss(0, 1) for _ in range(FEATURES)]
            score = sum(a * b for a, b in zip(w, x)) + 0.5 * rng.gauss(0, 1)
            out.writerow([f"{v:.6f}" for v in x] + [int(score > 0)])


if __name__ == "__main__":
    main()
