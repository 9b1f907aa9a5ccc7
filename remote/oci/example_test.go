package oci_test

import (
	"context"
	"fmt"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/remote"
	"github.com/rigor-dev/rigor/remote/oci"
)

// Example pushes every run of a store to a registry repository and checks
// that the registry holds each run's whole closure. It needs a registry,
// so it is compiled but not run (TestPushPull runs the same against one).
func Example() {
	ctx := context.Background()
	s, err := cas.Open(ctx, ".rigor", cas.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	reg, err := oci.New("127.0.0.1:5000", "team/runs", oci.Options{PlainHTTP: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	st, err := reg.Push(ctx, s, nil, remote.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d objects (%d bytes) sent, %d already there\n", st.ObjectsSent, st.BytesSent, st.ObjectsSkipped)
	results, err := reg.Check(ctx, s, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range results {
		fmt.Println(r.RunID, r.OK())
	}
}
