package faults

import (
	"encoding/binary"
	"runtime"
	"runtime/metrics"
	"sync"
	"time"
)

// RawEntry is one tree entry, written as given.
type RawEntry struct {
	Mode byte
	Name string
	Size uint64
	Sum  [32]byte // raw BLAKE3 of the child
}

// RawTree returns the cas tree encoding of entries, in the order given,
// with no check at all: magic "rgt\x01", the entry count, then per entry
// mode, name length, name, size and the 32-byte sum.
func RawTree(entries []RawEntry) []byte {
	b := []byte{'r', 'g', 't', 0x01}
	b = binary.AppendUvarint(b, uint64(len(entries)))
	for _, e := range entries {
		b = append(b, e.Mode)
		b = binary.AppendUvarint(b, uint64(len(e.Name)))
		b = append(b, e.Name...)
		b = binary.AppendUvarint(b, e.Size)
		b = append(b, e.Sum[:]...)
	}
	return b
}

// ZstdBomb returns one zstd frame that decodes to n bytes of 'A' (n is
// rounded up to a multiple of 128 KiB), 4 bytes per 128 KiB block: a
// gibibyte in 32 KiB. When declare is set the frame header states the
// content size (single segment); otherwise the size is left unknown and
// the window is 1 MiB, so a decoder learns the size only by decoding.
func ZstdBomb(n int64, declare bool) []byte {
	const block = 128 << 10
	b := []byte{0x28, 0xb5, 0x2f, 0xfd}
	if declare {
		// FCS field of 8 bytes (flag 3), single segment: no window byte.
		b = append(b, 0xc0|0x20)
		b = binary.LittleEndian.AppendUint64(b, uint64((n+block-1)/block*block))
	} else {
		b = append(b, 0x00, (20-10)<<3) // window 2^20
	}
	blocks := (n + block - 1) / block
	if blocks == 0 {
		blocks = 1
	}
	for i := int64(0); i < blocks; i++ {
		h := uint32(1)<<1 | uint32(block)<<3 // RLE, 128 KiB
		if i == blocks-1 {
			h |= 1 // last block
		}
		b = append(b, byte(h), byte(h>>8), byte(h>>16), 'A')
	}
	return b
}

// PeakHeap runs fn and returns the largest amount of live heap (bytes in
// heap objects, runtime/metrics) seen while it ran, above what was live
// just before it started. The heap is sampled every millisecond, so a
// short spike may be missed; a bound it reports is a lower bound on the
// true peak.
func PeakHeap(fn func()) uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	base := read()
	peak := base
	var mu sync.Mutex
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				v := read()
				mu.Lock()
				peak = max(peak, v)
				mu.Unlock()
			}
		}
	}()
	fn()
	close(stop)
	<-done
	mu.Lock()
	defer mu.Unlock()
	peak = max(peak, read())
	if peak < base {
		return 0
	}
	return peak - base
}
