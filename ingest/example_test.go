package ingest_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/ingest"
)

// ExampleIngester_RecordInput records a data input and records it again:
// the second time nothing is read, the stat cache vouches for the file.
func ExampleIngester_RecordInput() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "rigor-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "train.csv")
	if err := os.WriteFile(p, []byte("x,y\n1,2\n"), 0o644); err != nil {
		log.Fatal(err)
	}
	s, err := cas.Init(ctx, "", cas.Options{InMemory: true})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	in := ingest.New(s, ingest.Options{})
	for range 2 {
		snap, err := in.RecordInput(ctx, p, ingest.InputOptions{Role: "data", SourceRevision: "v1"})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(snap.Record.Digest, snap.Record.SHA256[:12], "read", snap.Result.ReadBytes)
	}
	// Output:
	// blake3:a69a9cf853b37cdfb3f535926f50730c30c09f5df3e0ec71d6f8eb7f010dcf8f 81bf9fa83c6f read 8
	// blake3:a69a9cf853b37cdfb3f535926f50730c30c09f5df3e0ec71d6f8eb7f010dcf8f 81bf9fa83c6f read 0
}
