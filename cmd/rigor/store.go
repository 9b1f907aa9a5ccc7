package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rigor-dev/rigor/cas"
)

// storeDirName is the directory that holds a project's store.
const storeDirName = ".rigor"

// findStore returns the store directory: --store, else RIGOR_STORE, else the
// nearest .rigor/ found walking up from the working directory.
func findStore(g *globalOptions) (string, error) {
	if g.storeDir != "" {
		return filepath.Abs(g.storeDir)
	}
	if env := os.Getenv("RIGOR_STORE"); env != "" {
		return filepath.Abs(env)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; {
		cand := filepath.Join(dir, storeDirName)
		if fi, err := os.Stat(cand); err == nil && fi.IsDir() {
			return cand, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", withHint(fmt.Errorf("no %s store in %s or any parent directory: %w", storeDirName, wd, cas.ErrNotStore),
		"run 'rigor init' in the project, or name a store with --store DIR or RIGOR_STORE")
}

// openStore finds and opens the store for a command. The caller closes it.
func openStore(ctx context.Context, g *globalOptions) (*cas.Store, error) {
	return openStoreWith(ctx, g, cas.Options{})
}

// openStoreReadOnly is openStore for the commands that only read: they
// share the store with each other, and open and close it in milliseconds.
func openStoreReadOnly(ctx context.Context, g *globalOptions) (*cas.Store, error) {
	return openStoreWith(ctx, g, cas.Options{ReadOnly: true})
}

func openStoreWith(ctx context.Context, g *globalOptions, opts cas.Options) (*cas.Store, error) {
	dir, err := findStore(g)
	if err != nil {
		return nil, err
	}
	s, err := cas.Open(ctx, dir, opts)
	if errors.Is(err, cas.ErrNotStore) {
		return nil, withHint(fmt.Errorf("%s: %w", dir, err), "run 'rigor init' to create one, or point --store at an existing store")
	}
	if errors.Is(err, cas.ErrLocked) {
		return nil, withHint(fmt.Errorf("%s: %w", dir, err), "another rigor process holds the store for too long; retry when it finishes")
	}
	return s, err
}
