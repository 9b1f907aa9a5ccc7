package cas_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/rigor-dev/rigor/cas"
)

func ExampleStore_Put() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "rigor-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	s, err := cas.Init(ctx, filepath.Join(dir, ".rigor"), cas.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	// Store a file's content, then a tree naming it, then a ref to the tree.
	info, err := s.Put(ctx, strings.NewReader("hello\n"), cas.PutOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.Digest, info.Size)

	tree, err := s.PutTree(ctx, cas.Tree{Entries: []cas.Entry{
		{Name: "hello.txt", Mode: cas.ModeFile, Size: info.Size, Digest: info.Digest},
	}})
	if err != nil {
		log.Fatal(err)
	}
	if err := s.SetRef(ctx, "runs/EXP-01/seed-42/attempt-1", "", tree.Digest); err != nil {
		log.Fatal(err)
	}

	// Read it back through the ref; the reader verifies as it goes.
	root, err := s.GetRef(ctx, "runs/EXP-01/seed-42/attempt-1")
	if err != nil {
		log.Fatal(err)
	}
	err = s.Walk(ctx, root, func(path string, e cas.Entry) error {
		if e.Mode != cas.ModeFile {
			return nil
		}
		r, err := s.Open(ctx, e.Digest)
		if err != nil {
			return err
		}
		defer r.Close()
		b, err := io.ReadAll(r)
		fmt.Printf("%s: %q\n", path, b)
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// blake3:8e4c7c1b99dbfd50e7a95185fead5ee1448fa904a2fdd778eaf5f2dbfd629a99 6
	// hello.txt: "hello\n"
}
