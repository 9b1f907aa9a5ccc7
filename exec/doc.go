// Package exec runs one attempt of one experiment-matrix row and records it
// in the store as an immutable run bundle.
//
// It shadows the standard library's os/exec; inside this package the
// standard library is imported as osexec.
package exec
