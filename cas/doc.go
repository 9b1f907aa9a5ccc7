// Package cas is rigor's embedded content-addressed store: immutable blobs
// and Merkle trees identified by the BLAKE3 digest of their uncompressed
// bytes, kept in Badger and append-only pack files, verified on the way in
// and on the way out, plus named refs, secondary indexes and a stat cache.
//
// [*Store] implements the role interfaces [Getter], [Putter], [Walker],
// [Refs], [Indexer] and [StatCache]; consumers take the narrowest one.
// Package castest holds the conformance suite every implementation passes.
//
// # Digests
//
// Every object is named by "blake3:" and the 64 lowercase hex digits of the
// BLAKE3 (default 32-byte output) of its logical bytes: a blob's content, a
// tree's canonical encoding. [ParseDigest] validates untrusted strings
// (sha256 is deferred to go-digest); [FromBytes], [FromReader] and
// [NewDigester] hash. Compression and chunking never change a digest.
//
// # Layout
//
// A store is a directory, normally ".rigor":
//
//	.rigor/format   {"format":"rigor-store","version":2}; written last by Init
//	.rigor/lock     the lock file (see Concurrency)
//	.rigor/db/      the Badger database
//	.rigor/packs/   chunk values, in append-only pack files (see Pack files)
//	.rigor/tmp/     scratch space, emptied by Open
//
// Version 1 stores (chunk values in Badger, no packs/) are read as they
// are; the first writable open marks them version 2, so that an older
// rigor refuses them by version instead of failing on a pack pointer.
//
// # Key space
//
// One Badger key space, split by prefix. sum is a raw 32-byte BLAKE3.
//
//	o/<sum>                object record
//	c/<sum>                pack pointer (or, in memory and in version 1
//	                       stores, the stored chunk value itself)
//	r/<name>               ref: the digest string it points at
//	i/<index> 0x00 <key>   secondary index entry: the caller's value
//	s/<path>               stat cache entry
//
// An object record (version 1) is
//
//	0x01 kind size:uvarint created:8 bytes BE Unix ns layout ...
//	layout 0x00 (inline):  the stored value, to the end of the record
//	layout 0x01 (chunked): count:uvarint, count × (chunk sum, size:uvarint)
//
// Chunk sizes must add up to size. The creation time (refreshed when an
// object is put again after an hour) gives GC its grace period.
//
// A stat cache entry is size:uvarint mtime:varint ns inode:uvarint
// ctime:varint ns followed by the digest string. RememberStat keeps entries in
// memory and writes them 4096 at a time and on Close, one Badger batch
// instead of a commit per file (a crash forgets at most those: the files
// are read again); LookupStat sees them at once.
//
// # Stored values
//
// Every chunk value and every inline value starts with a format byte:
// 0x00 raw bytes, 0x01 one zstd frame, 0x02 one s2 block, 0x03 Huffman-coded
// blocks (huff.go), 0x04 the top byte of each 4- or 8-byte element
// Huffman-coded and the others raw (lanes.go). Readers reject other bytes
// with [ErrUnknownFormat]. Decoding never produces more than the size the
// object record promises (zstd's cap is the output buffer and at most 4 MiB;
// s2, huff and lanes declare their length, checked first), so a small
// damaged or hostile value cannot expand into a decompression bomb.
//
// # Pack files
//
// On disk, chunk values live in pack files, packs/<8 hex digits>.pack:
//
//	"rgpk" 0x01 0 0 0, then per value: chunk sum (32 bytes),
//	length (uint32 little-endian), the stored value
//
// and the chunk's Badger entry holds a pointer, 0x10 pack:uvarint
// offset:uvarint length:uvarint (0x10 is never a value's format byte).
// Put's workers append values with pwrite(2), each reserving its range of
// the current pack under a mutex and copying outside it, so both cores
// write at once; the Badger transactions carry only pointers. A pack is
// closed for appends at 64 MiB and synced in the background; Close syncs
// every pack written before Badger closes, so pointers never reach the
// disk before what they point at. Readers map each pack read-only, once,
// at 64 MiB or its size: [Store.Verify] hashes raw values in place, and a
// read past the end of a truncated pack (which faults) is turned into an
// error wrapping [ErrNotFound] by runtime/debug.SetPanicOnFault instead of
// killing the process. Each value is preceded by its sum and length, so a
// pack can be checked or re-indexed on its own.
//
// Why: Badger's value log held every chunk before (version 1). It encodes
// each entry into a buffer, copies it into a memory-mapped file whose fresh
// pages the kernel zero-fills first, and one goroutine does all of it; in
// a profile of the benchmark add that was 26% of the CPU, on one core, and
// the add kept 1.4 of 2 cores busy. A pack write is one copy, from either
// worker.
//
// The chunks of large content (a chunked Put) go to packs of their own,
// written with O_DIRECT where the file system takes it (direct.go): one
// goroutine copies the values into 4 MiB staging buffers aligned to 4 KiB
// and another writes each full buffer to the disk, past the page cache.
// Their pointers are committed only after the bytes are written
// (syncDirect, which writes the filled part of the current buffer when
// it must), so a killed process leaves only unnamed bytes, as before; a
// finished pack is trimmed to its last value, so direct and buffered packs
// look alike. Why: a buffered write puts each byte into a freshly
// allocated page-cache page, and on the benchmark VM that allocation cost
// the kernel 0.15 to 1.4 s for 700 MB, run to run; written directly the
// same bytes took 0.05 s of CPU. Small content, committed one object at a
// time, keeps the buffered path.
//
// # Chunking
//
// Content under 768 KiB is not cut: on disk, from 4 KiB it is stored as
// one chunk in a pack (whose sum is the object's digest: hashed once),
// below that inline in its object record; in memory, inline. Larger
// content is cut by a FastCDC-style gear hash: a fixed 256-entry table of
// 64-bit values (splitmix64 from the seed "rigorcdc"), no cut before 768
// KiB, a cut where the hash's top 22 bits are zero before 1 MiB and its
// top 18 bits after (normalised chunking), a forced cut at 4 MiB. Chunks
// average 1.2 MiB. Each chunk is stored once under its own BLAKE3, so an
// edited file re-stores one or two chunks; testdata/golden.txt pins the
// boundaries. In-memory stores use a quarter scale (128 KiB / 256 KiB /
// 1 MiB), because Badger's in-memory mode caps values at 1 MiB.
//
// The gear hash is a serial chain (h = h<<1 + gear[b]: about two cycles a
// byte). The scan feeds four bytes at a time, h4 = h<<4 + (g0<<3 + g1<<2 +
// g2<<1 + g3), whose gear terms are off the chain, and checks the three
// hashes in between: the same boundaries (TestScanCutMatchesBytewise,
// testdata/golden.txt), 1.4–1.9× the speed of the bytewise loop
// (BenchmarkScanCut on the loaded 2-core machine).
//
// BenchmarkChunker (random data, 2-core CI machine, bytewise scan) measured 0.95 GB/s for
// 128K/512K/2M, 1.3 GB/s for 256K/1M/4M, 1.7 GB/s for 512K/1M/4M and
// 2.0 GB/s for 512K/1M/8M: the gear hash is a serial dependency chain, so
// skipping the first min bytes of every chunk is most of the speed. With
// the four-byte scan: 2.6 GB/s for 256K/1M/4M, 3.7 GB/s for 512K/1M/4M
// and 5.3 GB/s for 768K/1M/4M, whose chunks average 1192 KiB where
// 512K/1M/4M's average 1150 KiB (the strict mask before 1 MiB rarely
// cuts early): the minimum went from 512 to 768 KiB for a 6% cheaper
// benchmark add (BENCHMARKS.md), at almost the same dedup granularity. A
// chunk near 1 MiB costs about 40 bytes of record per MiB, few Badger
// entries, and dedups like restic's; the 4 MiB ceiling bounds Put's
// buffers; 8 MiB maxima would double them for a gain only on
// pathological input. Chunk boundaries do not affect digests: content
// stored with the older 512 KiB minimum reads and verifies the same, and
// only dedups less against content cut the new way.
//
// # Compression
//
// A value is compressed only where it pays. Under the default
// ([CompressZstd]), a chunk-sized value (over 128 KiB) has 32 KiB from its
// middle coded four ways: zstd at its fastest level, Huffman coding alone
// (fmtHuff), and the top-byte lane (fmtLanes) at the element width and
// alignment that a histogram of byte positions modulo 8 points to. zstd
// wins only if it beats the best of the others by 1/8, since it costs
// four to eight times their CPU; the others only if they save 1/20; else
// the value is stored raw. Smaller values keep the older rule: 4 KiB (or
// a byte histogram) decide, and zstd must save 1/8. Measured on the
// benchmark data (1 MiB pieces, one core of the 2-core machine):
//
//	numeric CSV   zstd fastest  104–180 MB/s  stored 45%
//	              huff0 (4X)    670–825 MB/s  stored 47%   decode ~950 MB/s
//	              s2                  521 MB/s  stored 85%
//	float32 N(0,1) zstd / s2: incompressible (stored raw, detected at ≥ 4 GB/s)
//	              huff0               770 MB/s  stored 92%
//	              lanes (width 4)    1660 MB/s  stored 83%   decode ~2500 MB/s
//
// Numeric text and float arrays owe their redundancy to skewed byte
// frequencies, not to repeats, which zstd spends its time looking for;
// logs, JSON and code are full of repeats, and zstd keeps them (a JSON log
// stores at under 1%). On the issue-2 benchmark tree this made the store
// 12% smaller than restic's instead of the same size, and the add 20–30%
// faster. [CompressS2] remains as a fast mode and [CompressNone] stores
// everything raw. One zstd encoder and decoder pair serve each Store;
// huff0 state is pooled.
//
// # Put
//
// Put reads the first 768 KiB; shorter content is hashed, compressed,
// appended to a pack (from 4 KiB) and committed in one transaction. Otherwise a pipeline runs: the caller's
// goroutine reads and cuts chunks into pooled 4 MiB buffers, one goroutine
// hashes the whole stream in order, Options.Concurrency workers hash each
// chunk, skip those already stored, compress the rest and append them to a
// pack, and one writer batches the pointers into Badger transactions
// committed asynchronously. At
// most Concurrency+2 chunks are in flight, so memory is bounded whatever
// the size (a 200 MB Put peaks near 160 MiB of heap, Badger's memtables and
// caches included; 2×Concurrency+4 chunks, as before, bought no speed on 2
// cores and cost 100 MiB of heap when ingest ran four Puts at once). The object record is committed last, after every chunk
// transaction completed, and only if the content matched PutOptions: a
// crash or a mismatch leaves at most orphan chunks, which GC collects.
// Chunk values go to pack files (in memory: Badger); Badger's value log
// (ValueThreshold 1 KiB) holds inline records, its LSM tree the keys,
// small records and pointers.
//
// Measured with BenchmarkPut on the 2-core machine (64 MB, warm cache):
// random 840 MB/s, float32 arrays 1000 MB/s, CSV 200–300 MB/s (zstd),
// already stored 1.2 GB/s; 20 KB files 145 MB/s one Put at a time;
// BenchmarkOpenRead 500 MB/s (CSV, zstd) to 1.3 GB/s (random).
//
// # Resident memory
//
// (Since chunk values moved to pack files, written with pwrite(2), this
// applies to what Badger's value log still takes: inline records over 1
// KiB, and version 1 stores. Pack reads map files read-only and shared:
// their pages are page cache, reclaimable.)
//
// Badger writes values through a shared memory mapping of its value log
// and keeps every value log file mapped until Close, so every byte a Put
// writes used to stay in the process's resident set: adding the 834 MiB
// benchmark tree peaked at 1 GiB RSS, 790 MiB of it value log pages. After
// every 64 MiB of values written, Put drops the mappings of the complete
// value log files from the resident set with madvise(MADV_DONTNEED)
// (Linux; the pages stay in the page cache and are written back as
// before). Only complete files are trimmed: Badger remaps just the file
// it is writing, and unmaps files only in GC and Close, which Put keeps
// out, so no address read from /proc/self/maps can be reused before the
// madvise. Value log files are 64 MiB (they were 256 MiB), which bounds
// what stays resident to the file being written plus 64 MiB, and what
// Open reads to find the end of the newest file (Open after a large add
// fell from 0.15 s to 0.04 s). The same add now peaks near 200–320 MiB
// RSS (TestValueLogTrimmed checks the bound).
//
// Writing through that mapping has a cost of its own: every page of a
// new value log file faults, and ext4 zero-fills it before Badger's copy
// overwrites it (perf on the benchmark add: 14% of the process's CPU, in
// the kernel's memset), all of it on Badger's single writer goroutine.
// Put therefore prefaults the file being written with
// madvise(MADV_POPULATE_WRITE) from a goroutine of its own, up to 24 MiB
// ahead of what it wrote: the writer's share of an add fell from 0.98 s
// of CPU to about 0.5 s (pprof), the rest runs on the other core. That
// changes no byte and needs no exclusion (on a range reused meanwhile it
// only populates). The zeroing itself, and Badger's two copies of each
// value, would go only with a chunk store of our own append-only files
// written with write(2).
//
// # Verification
//
// Put hashes everything it stores. Readers from [Store.Open] load the next
// chunk in the background, check it against its key before returning any of
// its bytes, and check the whole content against the object's digest at the
// end: on damage Read returns an error wrapping [ErrDigestMismatch] (or
// [ErrUnknownFormat]) instead of io.EOF, and a missing chunk gives an error
// wrapping [ErrNotFound] that names it. The two hashes run on two
// goroutines at once; the readers are [io.WriterTo]s, handing out chunks
// without a copy. [Store.OpenWith] with
// [OpenOptions.WholeOnly] skips the per-chunk check, hashing each byte once:
// for callers that trust nothing before the final Read (verification, a
// server holding back the end of a response); damage is then found at the
// end and the chunks re-checked to name it. [Store.Verify] checks an object
// without handing its bytes out, hashing raw chunks where they are stored
// (in a pack's read-only mapping, or in Badger's).
// [Store.Fsck] re-hashes every object
// and chunk and reports each [Problem] with the refs that reach it.
// Re-putting content whose inline record is damaged repairs it.
//
// # Trees
//
// PutTree checks that every child is stored with the entry's size (and is
// a tree where the entry says so), reading each child's record unless
// this Store committed or checked that object earlier (a bounded map,
// emptied by GC and the damage hooks). Putting a tree that is stored,
// intact and younger than an hour returns at once: an unchanged re-add of
// 5,000 files no longer reads their 125 MB of inline records.
//
// A tree's canonical encoding (see [EncodeTree]) is
//
//	magic 'r' 'g' 't' 0x01, count:uvarint, then per entry, sorted by name:
//	mode:byte  namelen:uvarint  name  size:uvarint  sum:32 bytes
//
// with minimal varints, names of 1 to 1024 bytes without "/" or NUL and not
// "." or "..", strictly increasing bytewise. For example the tree
//
//	hello.txt  ModeFile  6 bytes  blake3("hello\n")
//	run.sh     ModeExec  0 bytes  blake3("")
//
// encodes to
//
//	72 67 74 01                      magic
//	02                               2 entries
//	01 09 "hello.txt" 06             ModeFile, name, size 6
//	8e4c7c1b...fd629a99              32 bytes
//	02 06 "run.sh" 00                ModeExec, name, size 0
//	af1349b9...e41f3262              32 bytes
//
// and is blake3:af4c718144705de8d02ea110b683734cf645f6219fba99e992446add054a14ea.
// [DecodeTree] rejects anything else with [ErrBadTree]. A blob put later as
// a tree becomes a tree; the kind never goes back.
//
// # Concurrency
//
// A Store is safe for concurrent use by goroutines. Across processes, one
// writer has a store open at a time: Init and Open take an exclusive flock
// on .rigor/lock, polling with full-jitter exponential backoff (2 ms up to
// 250 ms) until they get it, ctx is done or Options.LockTimeout (10
// minutes by default) passes ([ErrLocked]), and hold it until Close; only
// then is Badger opened, so its own directory lock never fails. Eight
// processes of a seed sweep thus take turns instead of failing; each should
// open the store for as short as it can (ingest inputs, close, run the
// experiment, open again to record), since a holder blocks the others. The
// kernel drops the lock of a killed process.
//
// [Options.ReadOnly] opens take the lock shared: any number of readers at
// once (rigor's query commands, the web server), none while a writer holds
// it. Badger opens read-only (no new memtable, value log file or
// compactor: an open and close cost a few milliseconds instead of tens).
// Badger's read-only mode refuses a database that was not closed cleanly;
// Open then recovers it under the exclusive lock, closes, and opens
// read-only again, so a reader after a crash works as a writer would. Write
// methods of a read-only Store return [ErrReadOnly]. A reader opens the
// lock file read-only, so a store on a read-only filesystem can be read.
//
// Within a process, GC holds an exclusive lock that Put, PutTree, SetRef
// and DeleteRef hold shared, so it never sweeps an object between its Put
// and the ref naming it. Refs are updated in Badger transactions retried on
// conflict: of two racing SetRefs from the same old value exactly one wins.
//
// # Crashes
//
// Writes are not fsynced (SyncWrites off): a process crash loses nothing
// the kernel has, and Badger replays its write-ahead log on the next Open,
// discarding torn transactions. A chunk's pointer is committed after its
// pack write returned, and the record of an object after its chunks, so a
// SIGKILL at any point leaves a store that opens and checks clean, at
// worst with orphan chunks and pack bytes no pointer names (GC reclaims
// both). A power loss may lose the last
// writes. Open also removes the empty value log and memtable files a kill
// can leave between Badger creating a file and writing its header.
//
// A full disk: Badger writes values through a shared mapping of a sparse
// file, and a page the filesystem cannot back kills the process (SIGBUS)
// instead of failing the write. Put therefore refuses with [ErrNoSpace]
// while fewer than [MinFreeSpace] bytes (plus the write) would stay free,
// checked before each chunk batch and each object commit.
//
// # Garbage collection
//
// [Store.GC] marks every object reachable from a ref or younger than
// GCOptions.Grace (zero: none), walking trees; deletes the other objects
// and every chunk no remaining object uses. Then it reclaims disk: Badger
// learns which value log entries are garbage only when compaction drops
// their keys, so GC waits (up to 30 s) until no other call of this process
// is in flight, holds new calls, closes Badger (which flushes the memtable
// and compacts level 0) and reopens it, flattens the LSM tree and rewrites
// value log files until none is 30% garbage. Pack files are compacted in
// the same pause: a pack no pointer names is removed, a pack more than
// half garbage has its live values appended to a new pack, their pointers
// moved in one batch after the new pack is synced, and is then removed (a
// crash in between leaves a pack nothing names, removed by the next GC).
// (TestGCReclaimsDisk: 45 MB on disk → 1.1 MB after deleting 48 MB of
// chunks; TestGCCompactsPacks.) GC refuses to delete anything if a
// reachable tree cannot be read.
package cas
