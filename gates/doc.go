// Package gates checks experiment code and experiment records and reports
// what it finds as light.findings.v1 reports (see [spec.Report]); it never
// prints and never exits.
//
// # Static gates for Python
//
// [Review], [Seeds] and [Leakage] scan Python sources: .py files and the
// code cells of Jupyter notebooks ([Load], [NotebookSources]). Each file is
// parsed once with tree-sitter (tree-sitter-python) into a Go copy of the
// syntax tree, which every analysis shares; files are parsed and analysed in
// parallel ([Options].Concurrency).
//
//   - [Review] is the delivery scan of review_gate: hard-coded secrets,
//     eval/exec, os.system, shell=True, SQL built from strings, bare except,
//     float ==, swallowed NaN/Inf, and DATA-LEAKAGE from the leakage
//     analysis. Names are resolved through imports, so model.eval() is not
//     eval() and "from os import system" is os.system.
//   - [Seeds] is seed_audit by meaning: which frameworks are used, which
//     seeding mechanisms each needs, and which calls really set them.
//   - [Leakage] is a data-flow analysis (below).
//
// A finding's location is "file:line:col", for a notebook
// "nb.ipynb:cell 3:12:5" with the line and column inside the cell; columns
// count characters. A comment "# rigor: ignore" (or "# rigor:
// ignore[RULE]") on a finding's line drops it.
//
// # Leakage analysis
//
// The leakage analysis interprets each program abstractly, in execution
// order: module statements first, calls into functions and classes of any
// scanned file as they happen (bounded in depth), then every function that
// nothing called, with fresh data for its parameters. Its values track
// regions (sets of rows) and taints (statistics computed across rows):
//
//	df = pd.read_csv("d.csv")        df: rows R
//	X = df.drop(columns="y")         X: rows R
//	X = scaler.fit_transform(X)      X: rows R, taint T(fitted on R, line 3)
//	Xtr, Xte = train_test_split(X)   Xtr: R/train, Xte: R/test, both carry T
//	                                 T's rows contain R/test: preprocessing leak
//
// Splits (train_test_split, the indices of KFold-style splitters, slices,
// boolean masks, samples and their complements) create disjoint child
// regions; oversampling and row concatenation of overlapping rows create
// synthetic ones. Roles come from the split and from names (X_val is
// validation data, a file named test.csv is test data). Pipelines, column
// transformers and searches keep their steps, so fitting inside a pipeline
// handed to cross-validation is seen to be correct.
//
// The analysis is static. It cannot prove the absence of leakage, and code
// it cannot see is assumed to keep the rows and statistics of its
// arguments.
//
// # Records
//
// The package also checks execution contracts ([CheckContract]), audits
// train/test splits in CSV files ([AuditSplit]) and runs the stage-6 repro
// gate ([Repro]).
//
// # Concurrency
//
// All exported functions are safe for concurrent use. The tree-sitter
// library is configured once, on first use, to allocate with the C
// library's malloc and free directly.
package gates
