// Package ingest records the world a run depends on into the store: files
// and directories as blobs and trees, and the typed records (spec) of a code
// snapshot, an environment, a config and a data input.
//
// # Files and trees
//
// [Ingester.AddPath] and [Ingester.AddFiles] turn a path into a store object
// deterministically: a regular file becomes a blob, a directory a tree whose
// entries are sorted by name, a symlink a blob holding its target (never
// followed), and the execute bit is the only permission kept. Sockets,
// devices and FIFOs are skipped and reported as [Warning] values. Timestamps,
// owners and the order in which the file system lists entries never affect a
// digest. Files are hashed by a bounded pool of goroutines.
//
// # Stat cache
//
// Before reading a regular file, the Ingester looks up its stat key (absolute
// path, size, mtime, inode, ctime) in the store's stat cache; on a hit the
// remembered digest is used and the file is not read. Writing to a file
// changes its ctime, so even a same-size write that restores the mtime is
// noticed. A file whose timestamps are younger than the file system's clock
// tick (100 ms; 2 s for whole-second timestamps) is not remembered, since a
// second write in the same tick would keep its key (git's "racily clean"
// problem); it is read again next time. AddOptions.Rehash forces a full read. When the SHA-256 of files is
// wanted (the lineage hash of Light formats), it is computed in the same read
// pass and remembered in the [SHA256Index] index, so a cached file costs no
// read either.
//
// # Records
//
// [Ingester.SnapshotCode], [Ingester.ProbeEnv], [Ingester.RecordConfig] and
// [Ingester.RecordInput] produce
// spec.CodeRecord, spec.EnvRecord, spec.ConfigRecord and spec.InputRecord,
// store the record itself as a canonical JSON blob, and return its digest. A
// fact that cannot be collected (no git, no GPU, no Python) is recorded as
// "UNAVAILABLE: <reason>", never as an error. Environment variables and argv
// pass through spec.RedactEnv and spec.RedactArgv before they reach any
// record, so credentials never enter the store.
//
// # Patterns
//
// Include and exclude patterns of a code snapshot are a small subset of
// gitignore: a pattern without a slash matches a name at any depth
// ("*.pyc", "build"); one with a slash, or starting with "/", matches from
// the root ("src/**/*.py"); "*", "?" and "[a-z]" work within a name and "**"
// spans directories. A pattern that matches a directory matches everything
// below it.
//
// # Processes
//
// The probes run git, python and nvidia-smi, found through PATH, each with a
// timeout. They are the only processes this package starts.
package ingest
