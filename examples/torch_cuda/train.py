"""A small torch training on CUDA, for rigor's same-seed check on a GPU.

    python3 make_data.py
    rigor run --config configs/cuda-01.json --input "data=data/synthetic.csv@make_data.py seed 20261126" \
        -- python3 train.py --config configs/cuda-01.json

A two-layer network learns the synthetic binary task of data/synthetic.csv
(make_data.py: the same bytes on every machine) for a fixed number of
full-batch steps on the GPU, with every determinism switch torch has turned
on: torch.manual_seed and torch.cuda.manual_seed_all, deterministic
algorithms (CUBLAS_WORKSPACE_CONFIG, which rigor run sets to :4096:8),
cuDNN's deterministic mode without benchmarking, and TF32 off. Two runs with
the same seed must write the same bytes: rigor compare tells.

Outputs, in $RIGOR_OUT:
  predictions.csv    one row per held-out example: id,y_true,p (p printed to 9 digits)
  raw_metrics.jsonl  one JSON object per 50 steps: step, loss, and at the end the
                     held-out brier score and accuracy
"""

import argparse
import csv
import json
import os
import random
import sys

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    args = ap.parse_args()
    with open(args.config) as f:
        cfg = json.load(f)
    seed = int(cfg["seed"]["value"])
    if os.environ.get("RIGOR_SEED") not in (None, str(seed)):
        sys.exit(f"RIGOR_SEED={os.environ['RIGOR_SEED']} disagrees with the config's seed {seed}")
    if not torch.cuda.is_available():
        sys.exit("no CUDA device: this example is for a GPU machine")
    hp = cfg["model"]["hyperparameters"]

    random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False

    with open(cfg["data"]["path"], newline="") as f:
        rows = list(csv.reader(f))[1:]
    x = torch.tensor([[float(v) for v in r[:-1]] for r in rows])
    y = torch.tensor([float(r[-1]) for r in rows])
    n, d = x.shape
    n_test = n // 5
    dev = torch.device("cuda")
    x_train, y_train = x[n_test:].to(dev), y[n_test:].to(dev)
    x_test, y_test = x[:n_test].to(dev), y[:n_test]

    model = torch.nn.Sequential(
        torch.nn.Linear(d, hp["hidden"]), torch.nn.ReLU(), torch.nn.Linear(hp["hidden"], 1)
    ).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=hp["lr"])
    loss_fn = torch.nn.BCEWithLogitsLoss()

    out = os.environ.get("RIGOR_OUT", ".")
    with open(os.path.join(out, "raw_metrics.jsonl"), "w") as m:
        for step in range(1, hp["steps"] + 1):
            opt.zero_grad()
            loss = loss_fn(model(x_train).squeeze(1), y_train)
            loss.backward()
            opt.step()
            if step % 50 == 0:
                m.write(json.dumps({"step": step, "loss": round(loss.item(), 9)}) + "\n")
        with torch.no_grad():
            p = torch.sigmoid(model(x_test).squeeze(1)).cpu()
        brier = float(((p - y_test) ** 2).mean())
        acc = float(((p > 0.5).float() == y_test).float().mean())
        m.write(json.dumps({"step": hp["steps"], "brier": round(brier, 9), "accuracy": round(acc, 9)}) + "\n")
    with open(os.path.join(out, "predictions.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "y_true", "p"])
        for i in range(n_test):
            w.writerow([i, int(y_test[i]), f"{float(p[i]):.9f}"])
    print(f"seed {seed}: brier {brier:.6f}, accuracy {acc:.4f} on {n_test} held-out examples, device {torch.cuda.get_device_name(0)}")


if __name__ == "__main__":
    main()
