// Package scaffold writes a new Python experiment project, laid out so that
// rigor can record its runs and its gates can check its code from the first
// commit.
//
// # Layout
//
// [Write] creates, for package "study":
//
//	README.md                        first steps, layout, reproducibility notes
//	PLAN.md                          the plan; configs pin its SHA-256
//	pyproject.toml                   metadata; ruff, pytest and mypy settings
//	train.py                         entry point: python3 train.py --config CONFIG
//	configs/experiment.schema.json   JSON Schema of a row config
//	configs/experiment.example.json  one row config (seed, data, features, ...)
//	data/input.csv                   small synthetic data set, pinned by sha256
//	src/study/reproducibility.py     set_global_seed, seed_worker, make_generator
//	src/study/experiment_contracts.py  interfaces, train-only fitting, brier_score
//	src/study/model.py               a standard-library baseline
//	src/study/train.py               entity-grouped cross-validation
//	tests/                           gold, property, metamorphic, train-only-fit tests
//	rigor-check.yaml                 what rigor check runs: gates, tests, runs
//	.pre-commit-config.yaml          ruff, hygiene hooks and rigor's gates
//	.github/workflows/ci.yml         the tests, then rigor check
//	.gitignore
//
// The example config's data.sha256 and frozen_plan_sha256 are the SHA-256
// of the data file and plan as written, so `rigor run --config` accepts the
// new project as it stands.
//
// # Templates
//
// The files live in this package's template/ directory, embedded in the
// binary. A path element "_package_" becomes the package name. A file whose
// name ends in ".tmpl" is a text/template with delimiters "{%" and "%}"
// (Python and YAML use braces), executed with the resolved [Options]; the
// suffix is dropped. Inside a template, {% sha256 "PATH" %} is the hex
// SHA-256 of another file of the project as rendered. Other files are
// copied as they are.
package scaffold
