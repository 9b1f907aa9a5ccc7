package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rigor-dev/rigor/cas"
	runexec "github.com/rigor-dev/rigor/exec"
	"github.com/rigor-dev/rigor/spec"
)

func newShowCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "show RUN",
		Short: "Show one recorded run, named by ref, run id or root digest (prefix)",
		Long: `Show a recorded run: its identity, status and termination, completion and
oracle, seed, command, times, code, config, inputs, artifacts and resources.
RUN is a ref (runs/EXP-01/seed-42/attempt-1), a run id
(EXP-01__seed-42__attempt-1) or the root digest or a unique prefix of 8 or
more hex digits of it. --json prints the run's manifest.json as stored.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runShow(cmd.Context(), g, args[0])
		},
	}
}

func runShow(ctx context.Context, g *globalOptions, arg string) error {
	defer relaxGC()()
	s, err := openStoreReadOnly(ctx, g)
	if err != nil {
		return err
	}
	defer s.Close()
	root, err := runexec.FindRun(ctx, s, arg)
	switch {
	case errors.Is(err, runexec.ErrRunNotFound), errors.Is(err, cas.ErrNotFound):
		return usagef("list runs with 'rigor runs'", "no run %q", arg)
	case errors.Is(err, runexec.ErrNotRun):
		return usagef("give a run's ref, run id or root digest; list them with 'rigor runs'", "%s is not a run bundle", arg)
	case errors.Is(err, cas.ErrBadDigest), errors.Is(err, cas.ErrUnsupported):
		return usagef("give a ref (runs/ROW/seed-N/attempt-K), a run id (ROW__seed-N__attempt-K) or a root digest", "%q names no run: %v", arg, err)
	case errors.Is(err, cas.ErrAmbiguous):
		return usagef("give more hex digits to make the prefix unique", "ambiguous digest prefix %q", arg)
	case err != nil:
		return err
	}
	raw, m, err := runexec.ReadManifest(ctx, s, root)
	if err != nil {
		return err
	}
	if g.json {
		_, err := g.stdout.Write(raw)
		return err
	}
	var failure *spec.FailureRecord
	if m.Artifacts["failure"] != nil {
		if b, err := runexec.ReadBundleFile(ctx, s, root, m.Artifacts["failure"].Path, 1<<20); err == nil {
			f := new(spec.FailureRecord)
			if json.Unmarshal(b, f) == nil {
				failure = f
			}
		}
	}
	return printManifest(g, root, m, failure)
}

func printManifest(g *globalOptions, root fmt.Stringer, m *spec.RunManifest, failure *spec.FailureRecord) error {
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	row := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, args...)...) }
	row("run", "%s", m.RunID)
	if ref, ok := m.Rigor["ref"].(string); ok {
		row("ref", "%s", ref)
	}
	row("root", "%s", root)
	term := m.Termination.Reason
	switch {
	case m.Termination.ExitCode != nil:
		term += fmt.Sprintf(", exit %d", *m.Termination.ExitCode)
	case m.Termination.Signal != nil:
		term += fmt.Sprintf(", signal %d", *m.Termination.Signal)
	}
	row("status", "%s (%s)", m.Status, term)
	row("completion", "%s (oracle: %s)", m.Completion.Status, strings.Join(m.Completion.Oracle, ", "))
	row("seed", "%d (%s)", m.Seed.Value, m.Seed.Role)
	row("command", "%s", strings.Join(m.Command, " "))
	row("started", "%s", m.StartedAt)
	row("ended", "%s", m.EndedAt)
	if a, err1 := time.Parse(time.RFC3339, m.StartedAt); err1 == nil {
		if b, err2 := time.Parse(time.RFC3339, m.EndedAt); err2 == nil {
			row("duration", "%s", b.Sub(a))
		}
	}
	code := m.Code.Commit
	if m.Code.Dirty {
		code += " (dirty)"
	}
	row("code", "%s, %d files", code, len(m.Code.Files))
	if m.Config != nil {
		row("config", "%s sha256 %s", m.Config.Path, m.Config.SHA256)
	}
	if m.Environment != nil {
		row("environment", "%s sha256 %s", m.Environment.Path, m.Environment.SHA256)
	}
	for _, in := range m.Inputs {
		rev := ""
		if in.SourceRevision != "" {
			rev = " @" + in.SourceRevision
		}
		row("input", "%s %s%s sha256 %s", in.Role, in.Path, rev, in.SHA256)
	}
	for _, name := range sortedKeys(m.Artifacts) {
		a := m.Artifacts[name]
		if a == nil {
			row("artifact", "%s: none", name)
			continue
		}
		size := int64(-1)
		if a.Size != nil {
			size = *a.Size
		}
		row("artifact", "%s: %s, %d bytes, sha256 %s", name, a.Path, size, a.SHA256)
	}
	var r spec.Resources
	if b, err := json.Marshal(m.Rigor["resources"]); err == nil && json.Unmarshal(b, &r) == nil && m.Rigor["resources"] != nil {
		row("resources", "wall %s, cpu %s user + %s system, peak RSS %s",
			ms(r.WallMS), ms(r.UserCPUMS), ms(r.SystemCPUMS), bytesText(r.PeakRSSBytes))
		if r.GPU.Unavailable != "" {
			row("gpu", "%s", r.GPU.Unavailable)
		} else {
			row("gpu", "busy %s, this run's processes %s, %d devices, max memory %s",
				ms(r.GPU.BusyMS), ms(r.GPU.ProcessMS), r.GPU.Devices, bytesText(r.GPU.MaxMemoryUsedBytes))
		}
	}
	for _, n := range m.Notes {
		row("note", "%s", n)
	}
	if failure != nil {
		row("failure", "%s", failure.Message)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if failure != nil && failure.StderrTail != "" {
		fmt.Fprintf(g.stdout, "stderr (end):\n%s", failure.StderrTail)
		if !strings.HasSuffix(failure.StderrTail, "\n") {
			fmt.Fprintln(g.stdout)
		}
	}
	return nil
}

func ms(n int64) string { return (time.Duration(n) * time.Millisecond).String() }

func bytesText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func sortedKeys(a spec.Artifacts) []string { return slices.Sorted(maps.Keys(a)) }
