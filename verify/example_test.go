package verify_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/rigor-dev/rigor/verify"
)

// Two prediction files that differ in the seventh significant digit agree
// within numpy's default tolerance, and are reported as such, not as equal.
func ExampleDiffContent() {
	first := strings.NewReader("id,p\n1,0.25\n2,0.75\n")
	second := strings.NewReader("id,p\n1,0.25\n2,0.7500001\n")
	d, err := verify.DiffContent(context.Background(), verify.FormatCSV, first, second, verify.DefaultTolerance, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	c := d.Differences[0]
	fmt.Printf("%d of %d rows differ; row %d, %s: %s -> %s\n", d.DifferingRows, d.RowsCompared, c.Row, c.Column, c.First, c.Second)
	fmt.Printf("max abs diff %.1e, within tolerance: %v\n", d.MaxAbsDiff, d.WithinTolerance)
	// Output:
	// 1 of 2 rows differ; row 2, p: 0.75 -> 0.7500001
	// max abs diff 1.0e-07, within tolerance: true
}
