package cas_test

import (
	"path/filepath"
	"testing"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/cas/castest"
)

func TestConformanceDisk(t *testing.T) {
	castest.Run(t, func(t *testing.T) *cas.Store {
		s, err := cas.Init(t.Context(), filepath.Join(t.TempDir(), ".rigor"), cas.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestConformanceMemory(t *testing.T) {
	castest.Run(t, func(t *testing.T) *cas.Store {
		s, err := cas.Init(t.Context(), "", cas.Options{InMemory: true})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestConformanceS2(t *testing.T) {
	castest.Run(t, func(t *testing.T) *cas.Store {
		s, err := cas.Init(t.Context(), "", cas.Options{InMemory: true, Compression: cas.CompressS2, Concurrency: 3})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
