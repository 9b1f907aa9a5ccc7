// Package oci is the remote for OCI distribution registries
// (distribution/distribution, Harbor, zot, GHCR, ECR, ...): it pushes runs
// as OCI image manifests, pulls them back with the same root digests, and
// checks that a run is complete on a registry, through oras-go v2.
//
// # Layout
//
// One run is one image manifest in the repository, tagged spec.OCITag of
// its run id, with artifact type application/vnd.rigor.run.v1. Its config
// is the run's manifest.json; its layers are the run's files, each titled
// with its path (org.opencontainers.image.title) and annotated with its
// BLAKE3 digest (dev.rigor.blake3), then the run's tree objects (children
// first) and its index entries. spec/oci.go and spec/oci.md define it, with
// an example. `oras pull HOST/REPO:TAG` therefore writes the run directory
// with no rigor installed; rigor pull rebuilds the same Merkle DAG.
//
// # Digests
//
// Registries name blobs by SHA-256; the store by BLAKE3. Push takes each
// blob's SHA-256 from the store's "sha256" index (written by ingest when
// files are recorded) and hashes only blobs missing from it, adding them,
// so a second push hashes nothing. Pull checks both: the SHA-256 while the
// bytes stream in (a mismatch ends the stream with an error instead of
// EOF) and the BLAKE3 in cas.Put (a mismatch commits nothing).
//
// # Deduplication and resumption
//
// Push asks the registry (HEAD) for each distinct blob of the runs it
// sends and uploads only those it lacks, so an input shared by 50 runs is
// uploaded once, and a push interrupted by a dead registry or network,
// run again, uploads only what the registry had not committed. Manifests
// go last, once all their blobs are there. Pull fetches only blobs the
// local store lacks.
//
// # Credentials
//
// With Options.Client nil, credentials come from the standard docker
// configuration ($DOCKER_CONFIG/config.json or ~/.docker/config.json, with
// its credsStore and credHelpers), as docker login and oras login write
// them, and requests are retried on 5xx, 429 and dropped connections.
// Options.PlainHTTP reaches a local registry over http://.
//
// # Limits
//
// A manifest is at most 4 MiB (what distribution enforces): about ten
// thousand files per run. Larger runs are refused with [ErrTooLarge];
// store-to-store remotes have no such limit. Tags are not
// compare-and-swap on registries: two pushes of the same run id at the
// same moment cannot both be caught as conflicts. Symlinks and executable
// bits live in the tree layers; oras pull writes symlinks as small files
// holding the target and no executable bits.
package oci
