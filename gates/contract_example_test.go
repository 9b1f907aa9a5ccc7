package gates_test

import (
	"fmt"
	"time"

	"github.com/rigor-dev/rigor/gates"
	"github.com/rigor-dev/rigor/spec"
)

// A contract that declares RUN_READY while its run timed out: the
// run_status gate blocks, and so does the decision that ignores it.
func ExampleCheckContract() {
	c, err := spec.DecodeContract([]byte(`{
	  "schema": "light.experiment_execution_contract.v1",
	  "project": "demo",
	  "run_status": {"run_id": "EXP-01__seed-1__attempt-1", "status": "COMPLETED",
	                 "termination": {"reason": "TIMEOUT", "exit_code": null}},
	  "decision": "RUN_READY"}`))
	if err != nil {
		panic(err)
	}
	r := gates.CheckContract(c, gates.ContractOptions{Now: func() time.Time { return time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC) }})
	fmt.Println(r.Status, r.Advancement)
	for _, g := range r.Findings.Gates {
		if g.Gate == gates.GateRunStatus {
			for _, f := range g.Findings {
				fmt.Println(f.Rule)
			}
		}
	}
	// Output:
	// FAIL BLOCK
	// run_status.required_missing
	// run.attempt_bad
	// run.completed_bad_termination
	// run.failure_reason_marked_completed
	// completion.not_pass_for_completed
}
