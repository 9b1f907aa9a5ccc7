// Package verify answers questions about stored runs: integrity, same-seed
// comparison, diffs and lineage. It reports every problem it finds as data
// (a Report of typed Problems) and returns an error only when verification
// itself could not run.
package verify
