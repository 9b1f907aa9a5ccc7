// Package cas is rigor's embedded content-addressed store: immutable blobs
// and Merkle trees identified by the BLAKE3 digest of their uncompressed
// bytes, kept in Badger, verified on the way in and on the way out, plus
// named refs, secondary indexes and a stat cache.
package cas
