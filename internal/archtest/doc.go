// Package archtest holds the architecture test: it fails when a package of
// rigor imports against the layering documented in DEVELOPERS.md (who may
// import whom), when a library imports cobra or pflag, when non-test code
// imports testing, or when a package other than exec and ingest imports
// os/exec. It has no non-test code beyond this comment.
package archtest
