// Package exec runs one attempt of one experiment-matrix row, config and
// seed, and records it in the store as an immutable run bundle: a Merkle
// tree laid out exactly as a light.run_manifest.v3 run directory.
//
// It shadows the standard library's os/exec; inside this package the
// standard library is imported as osexec, and callers that need both name
// this package runexec.
//
// # Phases
//
// [Run] holds the store's process lock only while it reads or writes the
// store, never while the program runs:
//
//  0. Preflight (no store): read the config for row and seed (validated
//     against its JSON Schema when given), check the output directory, and
//     start the environment probe (OS, CPU, memory, GPUs, the Python
//     interpreter and its distributions, lock files), which stages what it
//     stores in memory: it is the slowest step and needs no lock.
//  1. Prepare (store open): record the config (canonical form), the inputs
//     by digest with their SHA-256, and the code (the git work tree: commit,
//     dirty flag, diff, files); store the environment record once the probe
//     is done; reserve the attempt number; create the spool directory.
//  2. Run (store closed): the optional --test command, the program, and the
//     optional --oracle command. Output is copied through a fixed 256 KiB
//     buffer to the terminal and to spool files, so memory does not grow
//     with the output.
//  3. Record (store open): ingest the spool and RIGOR_OUT, judge completion,
//     write the bundle, and register it with ingest.RecordRun (the ref,
//     never overwriting one, and the indexes); then remove the spool. If
//     recording fails, the spool is kept and the *[RecordError] names it:
//     nothing is lost.
//
// The spool lives in <store>/spool/<run-id>/, not in <store>/tmp/, which
// every cas.Open clears: another rigor opening the store while this one's
// program runs must not delete its output.
//
// # The child
//
// The program runs in Options.Dir, in its own process group, with stdin
// from /dev/null and the environment Options.Env plus:
//
//	PYTHONHASHSEED=<seed>          hash randomisation, fixed before the interpreter starts
//	RIGOR_SEED=<seed>              the seed, for the program's own RNGs
//	RIGOR_SEED_ROLE=<role>         fixed_repro or randomness_estimation
//	RIGOR_MATRIX_ROW=<row>
//	RIGOR_ATTEMPT=<k>
//	RIGOR_RUN_ID=<row>__seed-<n>__attempt-<k>
//	RIGOR_OUT=<dir>                where the program writes its outputs
//	CUBLAS_WORKSPACE_CONFIG=:4096:8   unless already set
//
// rigor's values replace variables of the same name. The child gets the
// real argv and environment; the records hold them redacted (below).
//
// Signals from Options.Signals (the CLI passes SIGINT and SIGTERM) are
// forwarded to the process group and end the run as user_cancel; a second
// signal sends SIGKILL. Options.Timeout sends SIGTERM to the group, then
// SIGKILL after Options.Grace, and ends the run as timeout. When the main
// process exits, members of its group that still hold stdout or stderr open
// get drainTimeout (2 s) before they are killed; any left are killed too,
// and the manifest notes it.
//
// # Termination, status and completion
//
// Termination is recorded as light.run_manifest.v3 defines it, and status
// follows from it (spec.StatusFor):
//
//	exit 0, nothing else                       natural_exit    completed
//	exit ≠ 0, killed by a signal rigor did     error           failed
//	  not send, program not found
//	--timeout passed                           timeout         aborted
//	signal forwarded or ctx done               user_cancel     aborted
//	RIGOR_OUT/max_iterations exists and the    max_iterations  aborted
//	  program exited by itself (any code)
//
// Max iterations: a program that stops because it reached its iteration
// cap creates the file RIGOR_OUT/max_iterations (its content, if any, says
// why). Such a run is never completed. preempted is never inferred.
//
// Out of memory: a program killed by SIGKILL that rigor did not send is
// failed (error) with OOM evidence in failure.json and rigor/resources.json:
// the signal, the peak RSS, the cgroup memory limit and the cgroup's
// oom_kill counter before and after the run (cgroup v2 memory.events or v1
// memory.oom_control). suspected_oom is always set in that case; confirmed
// only when the kernel's counter rose. Without a readable counter the
// evidence says why in its source.
//
// Completion is judged apart from termination. A run that did not complete
// is NOT_EVALUATED. A completed run is PASS when every check of the oracle
// passed, else FAIL:
//
//	outputs_present      predictions.csv and raw_metrics.jsonl exist in RIGOR_OUT and are not empty
//	raw_metrics_finite   every line of raw_metrics.jsonl is one JSON value with no NaN, Infinity or
//	                     overflowing number, and no string spelling one ("nan", "inf")
//	tests_passed         --test exited 0 (when given)
//	oracle_command       --oracle exited 0 (when given; it runs only after a completed run)
//
// # Layout
//
// The root tree of a run is the Light run directory; every path in the
// manifest is relative to it and carries the SHA-256 and the BLAKE3 digest
// of the file:
//
//	manifest.json         light.run_manifest.v3 (spec.RunManifest), indented JSON
//	config.json           the canonical config
//	environment.json      the rigor.environment.v1 record, without per-attempt variables
//	stdout.log            the program's stdout
//	stderr.log            the program's stderr
//	predictions.csv       from RIGOR_OUT, when written
//	raw_metrics.jsonl     from RIGOR_OUT, when written
//	guardrails.json       from RIGOR_OUT, when written (artifact guardrail_evidence)
//	test_evidence.json    the --test result (rigor.test_evidence.v1), else the program's, else a
//	                      NOT_EVALUATED record saying why there is none
//	failure.json          rigor.failure.v1, for a failed or aborted run
//	code/...              the code snapshot tree (manifest code.files: code/<path>)
//	inputs/<role>/<name>  each input file or tree, by digest (no copy of the data)
//	inputs/<role>/<name>.sha256sum   for a tree input: the sha256sum manifest the SHA-256 is of
//	rigor/run.json        rigor.run.v1: argv (redacted), working directory, the variables rigor
//	                      set, the child's environment (allow-listed, credentials redacted),
//	                      timeout, --test and --oracle commands
//	rigor/resources.json  rigor.resources.v1: wall, CPU, peak RSS, GPU, signals sent, OOM evidence
//	rigor/oracle.json     rigor.oracle.v1: every completion check with its detail
//	rigor/code_snapshot.json, rigor/code.diff   the code record and, when dirty, the patch
//	rigor/config_record.json                    the config record (source bytes, schema)
//	rigor/inputs/<role>/<name>.json             each input record
//	rigor/outputs/...     everything the program left in RIGOR_OUT
//	rigor/test/, rigor/oracle/   stdout.log and stderr.log of --test and --oracle
//
// The manifest cannot hold its own digest, so the run's identity is the
// digest of the root tree; [Result].Root and the ref hold it. The manifest's
// "rigor" member adds the attempt, ref, code tree digest, config digest,
// resources, the layout (the absolute code root and config path, which a
// rerun needs to lay the run out again) and, for a rerun, "rerun"
// (spec.RerunInfo). The manifest's command is argv through spec.StripSecretArgs
// (secret flags and their values removed, as Light requires);
// rigor/run.json keeps the flags with their values replaced
// (spec.RedactArgv). environment.json leaves out RIGOR_RUN_ID,
// RIGOR_ATTEMPT and RIGOR_OUT, so that two attempts of the same row, config
// and seed have the same identity for same-seed comparison.
//
// # Identity and concurrency
//
// The run id is <row>__seed-<n>__attempt-<k> and the ref
// runs/<row>/seed-<n>/attempt-<k>. Attempt numbers are per row and seed (a
// row has one config, so this is per row, config and seed): while it holds
// the store, Run takes one more than the highest attempt among the refs and
// the reservations of the "attempt-reservations" index (ingest.NextAttempt),
// and writes its reservation before releasing the store. The store's process lock makes
// this atomic across processes, so runs started at once get distinct
// attempts; an attempt whose recording failed keeps its reservation and its
// number is never reused. Refs are set with an empty old value: a recorded
// run is never overwritten.
//
// # Indexes
//
// At record time the run is registered with ingest.RecordRun, the one way
// every recorder (rigor run, rigor import) writes the indexes spec names:
//
//	runs          <run-id>                  → spec.RunSummary (canonical JSON); read by verify.ListRuns
//	lineage-in    <digest>\x00<run-id>      → {kind, role, path} for the config, the code tree and each input
//	lineage-out   <digest>\x00<run-id>      → {name, path} for each artifact and rigor/outputs ("outputs")
//
// Each lineage entry is written under the BLAKE3 digest and, when known,
// under "sha256:<hex>" too. [FindRun] resolves a ref, a run id (through the
// runs index) or a root digest prefix; [ReadManifest] and [BundleFiles]
// read a stored bundle, the latter for spec.CheckRunManifest.
//
// # Reruns
//
// [Rerun] reproduces a recorded run from its bundle alone: in a fresh
// directory it restores the code tree (checked file by file against the
// manifest's SHA-256), each input from the store by digest and the config
// as written, at the places they had relative to each other, and runs the
// recorded argv with the recorded environment variables as a new attempt of
// the same row and seed. That attempt reuses the recorded code identity,
// checks config and inputs against the record, compares the environment
// probe with the recorded environment (spec.EnvDrift) and records the repro
// level it establishes (spec.RerunLevel); its reproducibility.pair_id is
// the original's run id and its comparison_role "rerun". Comparing the
// outputs is left to verify.Compare; [FirstByteDiff] locates the first
// differing byte of two bundle files.
//
// # Resources
//
// Wall time is measured from start to exit with the monotonic clock; CPU
// time and peak RSS come from the child's rusage (the child and the
// descendants it waited for). GPU time is sampled with nvidia-smi in loop
// mode when it is on the child's PATH: busy time of the devices (utilisation
// × interval, whoever used them), the time a process of the run's group was
// among the compute processes, and the peak memory in use; otherwise the
// record says why it is unavailable. started_at and ended_at are RFC 3339
// with the local zone offset and milliseconds.
package exec
