package exec_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rigor-dev/rigor/cas"
	runexec "github.com/rigor-dev/rigor/exec"
)

func ExampleRun() {
	ctx := context.Background()
	tmp, _ := os.MkdirTemp("", "rigor-example-")
	defer os.RemoveAll(tmp)
	storeDir := filepath.Join(tmp, ".rigor")
	s, err := cas.Init(ctx, storeDir, cas.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	s.Close()
	open := func(ctx context.Context) (*cas.Store, error) { return cas.Open(ctx, storeDir, cas.Options{}) }

	seed := int64(42)
	res, err := runexec.Run(ctx, open, runexec.Options{
		Row:  "EXP-01",
		Seed: &seed,
		Dir:  tmp,
		Argv: []string{"sh", "-c", `echo "id,p" > "$RIGOR_OUT/predictions.csv"; echo '{"loss": 0.5}' > "$RIGOR_OUT/raw_metrics.jsonl"`},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	m := res.Manifest
	fmt.Println(res.RunID, res.Ref)
	fmt.Println(m.Status, m.Termination.Reason, *m.Termination.ExitCode, m.Completion.Status)
	fmt.Println(m.Artifacts["predictions"].Path, m.Artifacts["predictions"].SHA256)
	// Output:
	// EXP-01__seed-42__attempt-1 runs/EXP-01/seed-42/attempt-1
	// completed natural_exit 0 PASS
	// predictions.csv be379b83d8ae3f7f1745f4ad3af3d602a461efec5a2971deb6fa9f90659b3031
}
