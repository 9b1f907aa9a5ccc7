package cas

import "testing"

// TestHugeBufFree: freeBuf unmaps what hugeBuf mapped, once, and leaves
// heap memory (hugeBuf's fallback, or any other slice) alone.
func TestHugeBufFree(t *testing.T) {
	count := func() int {
		mappings.Lock()
		defer mappings.Unlock()
		return len(mappings.m)
	}
	before := count()
	b := hugeBuf(3<<20 + 1)
	if len(b) != 3<<20+1 {
		t.Fatalf("hugeBuf: %d bytes", len(b))
	}
	for i := range b {
		b[i] = byte(i)
	}
	if count() != before+1 {
		t.Fatalf("%d mappings recorded, want %d", count(), before+1)
	}
	freeBuf(b[:0]) // an empty slice of the buffer still names it
	if count() != before {
		t.Fatalf("%d mappings after freeBuf, want %d", count(), before)
	}
	freeBuf(make([]byte, 64<<10)) // heap: nothing to unmap
	freeBuf(nil)
	if count() != before {
		t.Fatalf("%d mappings after freeing heap slices, want %d", count(), before)
	}
}
