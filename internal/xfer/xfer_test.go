package xfer

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
)

func TestProgressCountsReads(t *testing.T) {
	var last, total int64
	p := NewProgress(func(d, tot int64) { last, total = d, tot }, 11)
	if _, err := io.Copy(io.Discard, p.Reader(strings.NewReader("hello world"))); err != nil {
		t.Fatal(err)
	}
	if last != 11 || total != 11 {
		t.Errorf("progress = %d/%d, want 11/11", last, total)
	}
	quiet := NewProgress(nil, 5)
	quiet.Add(5) // no callback: nothing happens, nothing panics
	if r := strings.NewReader("x"); quiet.Reader(r) != r {
		t.Error("a Progress without a callback should not wrap readers")
	}
}

func TestParallel(t *testing.T) {
	var calls atomic.Int64
	if err := Parallel(t.Context(), 3, 100, func(context.Context, int) error { calls.Add(1); return nil }); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 100 {
		t.Errorf("calls = %d, want 100", calls.Load())
	}
	boom := errors.New("boom")
	calls.Store(0)
	err := Parallel(t.Context(), 2, 1000, func(_ context.Context, i int) error {
		calls.Add(1)
		if i == 10 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Errorf("err = %v, want boom", err)
	}
	if calls.Load() == 1000 {
		t.Error("calls went on after the error")
	}
	if err := Parallel(t.Context(), 4, 0, func(context.Context, int) error { return boom }); err != nil {
		t.Errorf("n=0: err = %v", err)
	}
}
