"""Draft the execution contract of EXP-01 from what the store recorded.

    python3 write_contract.py --run EXP-01__seed-42__attempt-1 \\
        --pair EXP-01__seed-42__attempt-2 --out contract.json
    rigor gate contract --runs --spec contract.json

The contract (light.experiment_execution_contract.v1) states what was
planned (PLAN.md, the frozen matrix row, the DAG, the budget), what ran
(run status, termination, completion evidence, resources), in which
environment, how far it was shown to reproduce, and the decision. The
planned part comes from this directory; the run's part from
`rigor show --json RUN`, so every claim is one the store can back: with
--runs the gate checks each claim against the stored run and re-compares
the same-seed pair.

rigor is taken from $RIGOR, else from PATH. Standard library only.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
from datetime import datetime

CONFIG = "configs/exp-01.json"
FAILURE_TREE = "failure_tree_report.json"
LOCK = "requirements.txt"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, help="the run the contract reports (run id or ref)")
    parser.add_argument("--pair", required=True, help="the same-seed rerun it was compared with")
    parser.add_argument("--out", help="write the contract here (default: stdout)")
    args = parser.parse_args(argv)

    manifest = rigor_json("show", "--json", args.run)
    with open(CONFIG, encoding="utf-8") as f:
        config = json.load(f)
    with open(FAILURE_TREE, encoding="utf-8") as f:
        failure_tree = json.load(f)
    contract = {
        "schema": "light.experiment_execution_contract.v1",
        "project": "rigor-stdlib-example",
        "as_of": "",
        "experiment_spec": experiment_spec(config, failure_tree),
        "run_status": run_status(manifest),
        "environment": environment(manifest, config),
        "cache": {"enabled": False},
        "reproducibility": {
            "requested_level": "SAME_ENV_REPEAT",
            "levels": {
                "SAME_ENV_REPEAT": "PASS",
                "CLEAN_ENV_RERUN": "NOT_APPLICABLE",
                "CROSS_PLATFORM": "NOT_APPLICABLE",
                "INDEPENDENT_REIMPLEMENTATION": "NOT_APPLICABLE",
            },
            "evidence": {"same_env_repeat": f"rigor compare {manifest['run_id']} {args.pair}"},
            "same_seed_runs": [
                {
                    "first_run": manifest["run_id"],
                    "second_run": args.pair,
                    "same_seed_exact": True,
                    "comparison_locator": f"rigor compare {manifest['run_id']} {args.pair}",
                }
            ],
        },
        "remote_execution": {
            "required": False,
            "paid": False,
            "user_authorization": {"status": "NOT_REQUIRED"},
        },
        # The cache is not declared (nothing is cached), which the contract
        # gate reports as a warning: hence "with limitations".
        "decision": "RUN_WITH_LIMITATIONS",
    }
    text = json.dumps(contract, indent=2, sort_keys=True) + "\n"
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"wrote {args.out}: the contract of {manifest['run_id']}")
    else:
        sys.stdout.write(text)
    return 0


def experiment_spec(config, failure_tree):
    row = config["matrix_row"]
    return {
        "spec_id": f"{row}-plan",
        "frozen_at": "2024-01-01T00:00:00Z",
        "source_plan_locator": "PLAN.md",
        "plan_sha256": config["frozen_plan_sha256"],
        "failure_tree": {
            "report_locator": FAILURE_TREE,
            "report_sha256": sha256_file(FAILURE_TREE),
            "status": failure_tree["status"],
            "requires_guardrails": failure_tree["requires_guardrails"],
            "warning_decisions": [],
        },
        "question_id": "Q1-visit-features-predict-outcome",
        "estimand_id": "E1-per-patient-brier-5fold",
        "evaluator_id": "brier-per-fold",
        "scope_freeze_note": "EXP-01 only: one model, one feature set, seeds 42 (twice) and 7",
        "budget": {"max_walltime_minutes": 10, "max_compute_units": 1, "max_cost_usd": 0},
        "matrix_rows": [
            {
                "row_id": row,
                "config_id": CONFIG,
                "dataset_id": f"{config['data']['path']}@sha256:{config['data']['sha256']}",
                "split_id": config["data"]["split_id"],
                "evaluator_id": "brier-per-fold",
                "expected_outputs": ["predictions.csv", "raw_metrics.jsonl"],
                "failure_tree_refs": {
                    "hypothesis_ids": [h["id"] for h in failure_tree["hypotheses"]],
                    "branch_action_ids": [b["id"] for b in failure_tree["branch_actions"]],
                    "guardrail_ids": [],
                },
            }
        ],
        "dag_nodes": [
            {
                "node_id": "data",
                "kind": "DATA_PREP",
                "depends_on": [],
                "command": ["python3", "make_data.py"],
                "produces": [config["data"]["path"]],
            },
            {
                "node_id": "train",
                "kind": "TRAIN",
                "depends_on": ["data"],
                "command": ["python3", "train.py", "--config", CONFIG],
                "produces": ["predictions.csv", "raw_metrics.jsonl", "folds.csv"],
            },
        ],
    }


def run_status(m):
    res = m["rigor"]["resources"]
    wall_minutes = (timestamp(m["ended_at"]) - timestamp(m["started_at"])).total_seconds() / 60
    cpu_hours = (res["user_cpu_ms"] + res["system_cpu_ms"]) / 3_600_000
    return {
        "run_id": m["run_id"],
        "matrix_row_id": m["matrix_row"],
        "attempt": m["rigor"]["attempt"],
        "status": m["status"].upper(),
        "termination": {
            "reason": m["termination"]["reason"].upper(),
            "exit_code": m["termination"]["exit_code"],
        },
        "failure_class": "NONE",
        "completion": {
            "status": m["completion"]["status"],
            "evidence_artifacts": m["completion"]["evidence_artifacts"],
            "guardrail_evidence_artifacts": [],
        },
        "checkpoint": {"status": "NONE"},
        "resume_semantics": {"safe_to_resume": False, "reason": "a completed run is not resumed"},
        "resources": {
            "walltime_minutes": round(wall_minutes, 4),
            "cpu_hours": round(cpu_hours, 6),
            "gpu_hours": 0,
            "compute_units_used": round(cpu_hours, 6),
            "memory_peak_gb": round(res["peak_rss_bytes"] / 2**30, 4),
            "storage_gb": 0,
            "cost_usd": 0,
        },
    }


def environment(m, config):
    env = rigor_json("cat", m["environment"]["blake3"])
    return {
        "code_commit": m["code"]["commit"],
        "dirty": m["code"]["dirty"],
        "diff_sha256": m["code"]["diff_sha256"],
        "env_lock_sha256": m["environment"]["sha256"],
        "package_lock_sha256": sha256_file(LOCK),
        "python": env["python"].get("version", "unknown"),
        "os": env["os"].get("distribution") or env["os"].get("name"),
        "random_seed": config["seed"]["value"],
    }


def rigor_json(*args):
    rigor = os.environ.get("RIGOR") or "rigor"
    out = subprocess.run([rigor, *args], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def timestamp(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


if __name__ == "__main__":
    sys.exit(main())
