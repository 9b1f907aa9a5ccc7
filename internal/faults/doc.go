// Package faults holds helpers for rigor's hardening tests: hostile inputs
// built byte by byte (tree encodings no encoder would write, zstd frames
// that expand without end), a heap-peak probe, and a small filesystem to
// fill up. It has no compatibility promise and is imported by tests only;
// it imports nothing but the standard library, so every package may use
// it.
//
// # Hostile inputs
//
// [RawTree] writes the canonical tree encoding of cas (magic, count,
// entries) without any of EncodeTree's checks, so a test can store a tree
// whose names hold "..", "/" or NUL, repeat or are unsorted, or whose mode
// is not one cas defines. [ZstdBomb] writes a zstd frame of RLE blocks: a
// few bytes per 128 KiB of output.
//
// # Measures
//
// [PeakHeap] runs a function and reports the most heap it had live at any
// time, sampled from runtime/metrics without stopping the world.
//
// # Full disks
//
// [MountTmpfs] mounts a size-limited tmpfs (root only, Linux only), so a
// test can fill a store's filesystem and check the error and the store.
package faults
