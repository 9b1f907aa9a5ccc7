// Package remote moves recorded runs between a store and a remote: another
// rigor store (here) or a repository of an OCI distribution registry
// (package remote/oci), the way git moves commits: walk the Merkle DAG, ask
// the other side what it lacks, send only that, then update refs.
//
// # Remotes
//
// A remote is a name and a URL, kept in the store's [RemotesIndex] index:
//
//	/abs/path or file:///abs/path   another rigor store: a project directory
//	                                holding .rigor/, or the .rigor/ itself
//	oci://HOST[:PORT]/REPOSITORY    a registry repository (remote/oci)
//
// [ParseURL] parses them, [AddRemote], [RemoveRemote], [GetRemote] and
// [ListRemotes] keep them.
//
// # Runs
//
// A run is a ref runs/<row>/seed-<n>/attempt-<k> naming the root tree of a
// run bundle, plus its entries in the runs and lineage indexes. Runs are
// named by run id or ref ([ParseRunName], [FindRuns]); naming none means
// every run. Runs are immutable: a run whose ref the receiving side has
// with another root is a [Conflict], reported by run id and left alone
// unless [Options].Force. Every push and pull returns [Stats]: each run's
// [Status] and the objects and bytes sent and skipped.
//
// # Protocol
//
// [Transfer] is the store-to-store protocol; remote/oci follows the same
// steps over HTTP:
//
//  1. Read the receiving side's ref of every run: the same root is up to
//     date, another a conflict.
//  2. Collect the closure of the runs to send ([Closure]: every object
//     once, children before parents).
//  3. Ask the receiving side which objects it has ([Store].Has; a
//     registry: HEAD on each blob) and send the others. A blob goes through
//     Put with its expected digest and size, so the receiver commits
//     nothing that does not hash to the name it was sent under; a tree goes
//     through PutTree, which requires its entries to be present.
//  4. Set the refs (compare-and-swap) and write the runs' index entries
//     ([ReadIndexEntries], [WriteIndexEntries]).
//
// Nothing of a run is visible before step 4. A transfer that stops (an
// error, a kill, Ctrl-C) leaves verified objects and no ref; run again, it
// finds those objects present and sends only the rest. Runs it did not
// finish are reported [Failed].
//
// # Locks
//
// A store is held by one process at a time (cas's process lock). A
// store-to-store transfer holds both: always the local store first (the
// caller's), then the remote ([StoreRemote] opens it). Two processes that
// push into each other's stores at the same moment therefore wait on each
// other until one's lock timeout (cas.Options.LockTimeout, 10 minutes by
// default) ends it with cas.ErrLocked, losing nothing; retry it. A remote
// that is the local store itself is refused ([ErrSameStore]): its lock
// would wait on its own process.
//
// # Checks
//
// [CheckRun] answers "is this run's whole closure on the remote?" without
// downloading it: when the local store has the run, its trees are walked
// and the remote is only asked whether each object is present; otherwise
// the remote's trees are read (small) and its blobs only asked for. Every
// missing object is named by path ([Missing]).
package remote
