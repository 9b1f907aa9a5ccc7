# label: SEEDED
# No randomness at all: nothing to seed.
import csv
import json
import statistics

with open("results.csv") as fh:
    rows = list(csv.DictReader(fh))
summary = {"mean": statistics.mean(float(r["score"]) for r in rows)}
print(json.dumps(summary))
