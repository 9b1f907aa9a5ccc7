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

// ExampleIngester_RecordInput records a data input: the record names it by
// BLAKE3 (the store's identity) and by SHA-256 (Light's lineage hash).
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
	snap, err := in.RecordInput(ctx, p, ingest.InputOptions{Role: "data", SourceRevision: "v1"})
	if err != nil {
		log.Fatal(err)
	}
	r := snap.Record
	fmt.Println(r.Kind, r.Size, r.Digest)
	fmt.Println("sha256", r.SHA256)
	// Output:
	// file 8 blake3:a69a9cf853b37cdfb3f535926f50730c30c09f5df3e0ec71d6f8eb7f010dcf8f
	// sha256 81bf9fa83c6f7f151bd491a98cd7d933de3965289e3ebd77c6c425f7eaa16392
}
