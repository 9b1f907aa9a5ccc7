package remote_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/remote"
)

// ExampleTransfer copies a run from one store to another, then again:
// the second time nothing moves.
func ExampleTransfer() {
	ctx := context.Background()
	src, _ := cas.Open(ctx, "", cas.Options{InMemory: true})
	defer src.Close()
	dst, _ := cas.Open(ctx, "", cas.Options{InMemory: true})
	defer dst.Close()

	// A tiny run bundle: two files with the same content, and its ref.
	f, _ := src.Put(ctx, strings.NewReader("id,p\n1,0.5\n"), cas.PutOptions{})
	root, _ := src.PutTree(ctx, cas.Tree{Entries: []cas.Entry{
		{Name: "predictions.csv", Mode: cas.ModeFile, Size: f.Size, Digest: f.Digest},
		{Name: "stdout.log", Mode: cas.ModeFile, Size: f.Size, Digest: f.Digest},
	}})
	_ = src.SetRef(ctx, "runs/EXP-01/seed-1/attempt-1", "", root.Digest)

	runs, _ := remote.FindRuns(ctx, src, nil)
	for range 2 {
		st, err := remote.Transfer(ctx, src, dst, runs, remote.Options{})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s %s: %d objects (%d bytes) sent, %d skipped\n", st.Runs[0].RunID, st.Runs[0].Status, st.ObjectsSent, st.BytesSent, st.ObjectsSkipped)
	}
	got, _ := dst.GetRef(ctx, "runs/EXP-01/seed-1/attempt-1")
	fmt.Println(got == root.Digest)
	// Output:
	// EXP-01__seed-1__attempt-1 sent: 2 objects (111 bytes) sent, 0 skipped
	// EXP-01__seed-1__attempt-1 up-to-date: 0 objects (0 bytes) sent, 0 skipped
	// true
}
