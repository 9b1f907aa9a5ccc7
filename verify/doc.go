// Package verify answers questions about stored runs: integrity, same-seed
// comparison, diffs and lineage. It reports every problem it finds as data
// (a Report of typed Problems) and returns an error only when verification
// itself could not run.
//
// verify reads the store through small interfaces: [Store] (cas.Getter plus
// ReadTree) for run bundles, [Catalog] (refs and cas.Indexer) for the runs
// and lineage indexes. *cas.Store satisfies both; verify never needs it.
//
// # Run bundles
//
// A run is a tree in the store: the Light run directory, manifest.json
// (light.run_manifest.v3) at its root and every file the manifest names at
// its relative path, plus rigor's own records under rigor/. The ref
// runs/<row>/seed-<n>/attempt-<k> points at the tree; the store's "runs"
// index holds its summary under the run id <row>__seed-<n>__attempt-<k>.
// [FindRun] accepts a run id, a ref or the tree's digest (or a prefix).
//
// # Verification
//
// [Run] checks one run bundle:
//
//   - every rule of the Light run_artifact_check (spec §3.5) on its manifest,
//     with the checker's exact messages, the SHA-256 of each file coming
//     from the store's SHA-256 index when ingest recorded it, or from
//     streaming the blob (which the store verifies against its BLAKE3
//     digest on the way);
//   - every object the run reaches exists, with the size its tree records
//     ([MissingObject], [SizeMismatch], [BadTree], [CorruptObject]);
//   - rigor's blake3 and size members of the manifest match the tree
//     ([ManifestDigest], [SizeMismatch]);
//   - with [Options.Recorded], its index entries ([IndexMismatch]).
//
// With [Options.Deep] every blob is re-read and re-hashed, each once,
// through a bounded pool of workers, largest first; with [Options.Sample] a
// seeded window of the digest space is, so that successive seeds cover every
// blob. A store that can check the whole digest alone ([cas.WholeOpener]) is
// asked to, so each byte is hashed with BLAKE3 once, not once per chunk and
// again for the whole. The SHA-256 sums still come from the index (ingest
// computed them from the same bytes, which the BLAKE3 pass proves unchanged)
// unless [Options.SHA256] asks for them to be computed from the bytes too.
// Every problem names its [Kind], the run and the path inside the run;
// problems at the same path are not repeated as manifest-rule messages.
//
// # Comparison and diffs
//
// [Compare] is run_artifact_check's compare mode on two stored runs; its
// result embeds light.repro_comparison.v1 unchanged and adds where the runs
// differ: identity components down to JSON paths, packages, files and
// inputs, and a streaming row-level [DiffContent] of CSV and JSONL artifacts
// with the largest absolute and relative differences and a verdict against
// a [Tolerance]. Agreement within tolerance is reported as such and never
// makes a pair exact. [Diff] compares any two runs the same way without
// judging them, and adds the last value of each raw metric.
//
// # Lineage
//
// When a run is recorded, the "lineage-in" index gets a key
// "<digest> NUL <run-id>" for every input, config and code tree it read,
// and "lineage-out" one for every artifact it produced (see spec.RunsIndex);
// "run-io" gets the run's data inputs and outputs under its run id.
// [TraceLineage] follows them both ways, the two directions at once: one
// prefix scan per piece of content and one point lookup per run on a chain
// (a manifest read for a run recorded before run-io existed), never
// scanning every run; [RunsUsing] and [ListRuns] answer rigor runs --input
// and --row from the indexes alone. [Run] with Options.Recorded checks the
// run's entries in all of them against its bundle.
//
// # Concurrency
//
// The functions of this package are safe to call concurrently on a store
// that is safe for concurrent use. [Run] hashes blobs on Options.Concurrency
// goroutines and calls Options.Progress from them, serialised.
package verify
