//go:build !linux

package cas

// hugeBuf returns n bytes for a long-lived buffer (huge pages on Linux).
func hugeBuf(n int) []byte { return make([]byte, n) }

// freeBuf lets the garbage collector have b.
func freeBuf([]byte) {}
