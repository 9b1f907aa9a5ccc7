package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/remote"
	"github.com/rigor-dev/rigor/remote/oci"
)

func newRemoteCmd(g *globalOptions) *cobra.Command {
	c := &cobra.Command{
		Use:   "remote",
		Short: "Add, list and remove remotes: other stores and OCI registries runs are pushed to and pulled from",
		Long: `A remote is where 'rigor push' sends runs and 'rigor pull' fetches them from:

  PATH or file:///PATH          another rigor store (a project directory holding
                                .rigor/, or the .rigor/ directory itself)
  oci://HOST[:PORT]/REPOSITORY  a repository of any OCI distribution registry
                                (distribution, Harbor, zot, GHCR, ECR...), with
                                credentials from the docker config and its
                                credential helpers (docker login, oras login)

Remotes are kept in the store (index "remotes").`,
	}
	var plain bool
	add := &cobra.Command{
		Use:   "add NAME URL",
		Short: "Add a remote",
		Example: `  rigor remote add backup /mnt/shared/project
  rigor remote add origin oci://ghcr.io/acme/exp-runs
  rigor remote add local oci://127.0.0.1:5000/runs --plain-http`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRemoteAdd(cmd.Context(), g, remote.Remote{Name: args[0], URL: args[1], PlainHTTP: plain})
		},
	}
	add.Flags().BoolVar(&plain, "plain-http", false, "reach the registry over http:// (a local registry)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the remotes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRemoteList(cmd.Context(), g)
		},
	}
	remove := &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove a remote (nothing on it is touched)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRemoteRemove(cmd.Context(), g, args[0])
		},
	}
	c.AddCommand(add, list, remove)
	return c
}

func runRemoteAdd(ctx context.Context, g *globalOptions, r remote.Remote) error {
	u, err := remote.ParseURL(r.URL)
	if err != nil {
		return usagef("give a store path, file:///path or oci://HOST[:PORT]/REPOSITORY", "%v", err)
	}
	if u.Kind == remote.KindOCI {
		if _, err := oci.New(u.Host, u.Repository, oci.Options{PlainHTTP: r.PlainHTTP, Client: noClient{}}); err != nil {
			return usagef("give oci://HOST[:PORT]/REPOSITORY with a lower-case repository", "%v", err)
		}
	}
	s, err := openStore(ctx, g)
	if err != nil {
		return err
	}
	defer s.Close()
	r, err = remote.AddRemote(ctx, s, r)
	switch {
	case errors.Is(err, remote.ErrRemoteExists):
		return usagef("pick another name, or 'rigor remote remove "+r.Name+"' first", "%v", err)
	case errors.Is(err, remote.ErrBadName), errors.Is(err, remote.ErrBadURL):
		return usagef("see 'rigor remote add --help'", "%v", err)
	case err != nil:
		return err
	}
	if g.json {
		return writeJSON(g.stdout, r)
	}
	return nil
}

// noClient lets oci.New validate a repository name without reading the
// docker credentials; it is never called.
type noClient struct{}

func (noClient) Do(*http.Request) (*http.Response, error) { return nil, errors.New("not connected") }

func runRemoteList(ctx context.Context, g *globalOptions) error {
	s, err := openStore(ctx, g)
	if err != nil {
		return err
	}
	list, err := remote.ListRemotes(ctx, s)
	s.Close()
	if err != nil {
		return err
	}
	if g.json {
		if list == nil {
			list = []remote.Remote{}
		}
		return writeJSON(g.stdout, list)
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	for _, r := range list {
		extra := ""
		if r.PlainHTTP {
			extra = "\t(plain http)"
		}
		fmt.Fprintf(tw, "%s\t%s%s\n", r.Name, r.URL, extra)
	}
	return tw.Flush()
}

func runRemoteRemove(ctx context.Context, g *globalOptions, name string) error {
	s, err := openStore(ctx, g)
	if err != nil {
		return err
	}
	defer s.Close()
	err = remote.RemoveRemote(ctx, s, name)
	if errors.Is(err, remote.ErrNoRemote) {
		return usagef("list the remotes with 'rigor remote list'", "%v", err)
	}
	return err
}

// transport is a remote as push, pull and verify --remote use it.
type transport interface {
	Push(ctx context.Context, local remote.Store, names []string, opts remote.Options) (remote.Stats, error)
	Pull(ctx context.Context, local remote.Store, names []string, opts remote.Options) (remote.Stats, error)
	Check(ctx context.Context, local remote.Store, names []string) ([]remote.CheckResult, error)
}

// remoteTarget is what a command was pointed at: a configured remote's
// name, or a URL given directly.
type remoteTarget struct {
	arg       string // as typed
	url       string
	plainHTTP bool
}

// lookupRemote resolves NAME: a configured remote, or, when none has that
// name, a URL (oci://…, file://…) or a path (with a slash, or an existing
// directory).
func lookupRemote(ctx context.Context, s *cas.Store, arg string, plainHTTP bool) (remoteTarget, error) {
	r, err := remote.GetRemote(ctx, s, arg)
	if err == nil {
		return remoteTarget{arg: arg, url: r.URL, plainHTTP: r.PlainHTTP || plainHTTP}, nil
	}
	if !errors.Is(err, remote.ErrNoRemote) {
		return remoteTarget{}, err
	}
	if fi, err := os.Stat(arg); strings.Contains(arg, "://") || strings.ContainsRune(arg, '/') || (err == nil && fi.IsDir()) {
		t := remoteTarget{arg: arg, url: arg, plainHTTP: plainHTTP}
		// A URL some remote is configured with keeps that remote's settings.
		if u, err := remote.ParseURL(arg); err == nil {
			list, err := remote.ListRemotes(ctx, s)
			if err != nil {
				return t, err
			}
			for _, r := range list {
				if r.URL == u.String() {
					t.plainHTTP = t.plainHTTP || r.PlainHTTP
				}
			}
		}
		return t, nil
	}
	return remoteTarget{}, usagef("add it with 'rigor remote add "+arg+" URL', or give a URL; 'rigor remote list' shows the remotes", "%v", err)
}

// dial returns the transport of a target.
func (t remoteTarget) dial() (transport, error) {
	u, err := remote.ParseURL(t.url)
	if err != nil {
		return nil, usagef("give a store path, file:///path or oci://HOST[:PORT]/REPOSITORY", "remote %s: %v", t.arg, err)
	}
	if u.Kind == remote.KindStore {
		return remote.StoreRemote{Dir: u.Path}, nil
	}
	r, err := oci.New(u.Host, u.Repository, oci.Options{PlainHTTP: t.plainHTTP})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// transferError adds hints to what a push, pull or check returned.
func transferError(err error, verb string) error {
	switch {
	case err == nil:
		return nil
	case verb != "push" && errors.Is(err, remote.ErrRunNotFound):
		return usagef("name a run the remote has, by run id or ref runs/<row>/seed-<n>/attempt-<k>", "%v", err)
	case errors.Is(err, remote.ErrConflict):
		return withHint(err, "runs are immutable: a run id recorded differently on each side is never overwritten silently; compare the two ('rigor compare') or pass --force to replace the receiving side's")
	case errors.Is(err, remote.ErrBadName), errors.Is(err, remote.ErrRunNotFound):
		return usagef("name runs by run id or ref runs/<row>/seed-<n>/attempt-<k>; 'rigor runs' lists the local ones", "%v", err)
	case errors.Is(err, remote.ErrSameStore):
		return usagef("a remote store must be another store than the one "+verb+" works on", "%v", err)
	case errors.Is(err, remote.ErrBadRemoteData):
		return &exitStatus{code: exitIntegrity, msg: err.Error() + " (nothing of the run was made visible)"}
	case errors.Is(err, cas.ErrDigestMismatch):
		return &exitStatus{code: exitIntegrity, msg: err.Error()}
	}
	return err
}

// transferOutput is the --json summary of a push or pull.
type transferOutput struct {
	Remote string `json:"remote"`
	URL    string `json:"url"`
	remote.Stats
}

// runTransfer opens the store, then the remote, and pushes or pulls.
func runTransfer(ctx context.Context, g *globalOptions, verb, name string, runs []string, force, plainHTTP bool) error {
	s, err := openStore(ctx, g)
	if err != nil {
		return err
	}
	defer s.Close()
	target, err := lookupRemote(ctx, s, name, plainHTTP)
	if err != nil {
		return err
	}
	tr, err := target.dial()
	if err != nil {
		return err
	}
	bar := newProgress(g, verb+" "+name, 0)
	opts := remote.Options{Force: force, Progress: bar.setWithTotal}
	var st remote.Stats
	if verb == "push" {
		st, err = tr.Push(ctx, s, runs, opts)
	} else {
		st, err = tr.Pull(ctx, s, runs, opts)
	}
	bar.done()
	if g.json {
		if jerr := writeJSON(g.stdout, transferOutput{Remote: name, URL: target.url, Stats: st}); jerr != nil && err == nil {
			err = jerr
		}
	} else if !g.quiet && (err == nil || len(st.Runs) > 0) {
		printTransfer(g, verb, name, st)
	}
	return transferError(err, verb)
}

func printTransfer(g *globalOptions, verb, name string, st remote.Stats) {
	counts := map[remote.Status]int{}
	for _, r := range st.Runs {
		counts[r.Status]++
		other := r.Other.String()
		if other == "" {
			other = "another artifact under the run's tag"
		}
		switch r.Status {
		case remote.Conflict:
			fmt.Fprintf(g.stdout, "%-10s  %s  (sending %s, receiving side has %s)\n", r.Status, r.RunID, r.Root, other)
		case remote.Replaced:
			fmt.Fprintf(g.stdout, "%-10s  %s  (%s replaced %s)\n", r.Status, r.RunID, r.Root, other)
		default:
			fmt.Fprintf(g.stdout, "%-10s  %s\n", r.Status, r.RunID)
		}
	}
	var parts []string
	for _, s := range []remote.Status{remote.Sent, remote.Replaced, remote.UpToDate, remote.Conflict, remote.Failed} {
		if n := counts[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	if len(parts) == 0 {
		parts = []string{"no runs"}
	}
	moved := "sent"
	if verb == "pull" {
		moved = "received"
	}
	fmt.Fprintf(g.stderr, "rigor: %s %s: %s; %d objects (%s) %s, %d (%s) already there\n", verb, name,
		strings.Join(parts, ", "), st.ObjectsSent, humanBytes(st.BytesSent), moved, st.ObjectsSkipped, humanBytes(st.BytesSkipped))
}

// verifyRemoteOutput is the --json output of verify --remote.
type verifyRemoteOutput struct {
	Remote string               `json:"remote"`
	OK     bool                 `json:"ok"`
	Runs   []remote.CheckResult `json:"runs"`
}

// runVerifyRemote is 'rigor verify --remote NAME [RUN...]': it checks that
// each run's whole closure is on the remote, without downloading it, and
// exits 3 naming what is missing.
func runVerifyRemote(ctx context.Context, g *globalOptions, name string, runs []string) error {
	s, err := openStore(ctx, g)
	if err != nil {
		return err
	}
	defer s.Close()
	target, err := lookupRemote(ctx, s, name, false)
	if err != nil {
		return err
	}
	tr, err := target.dial()
	if err != nil {
		return err
	}
	results, err := tr.Check(ctx, s, runs)
	if err != nil {
		return transferError(err, "verify")
	}
	out := verifyRemoteOutput{Remote: name, OK: true, Runs: results}
	if out.Runs == nil {
		out.Runs = []remote.CheckResult{}
	}
	bad := 0
	for _, r := range results {
		if !r.OK() {
			out.OK = false
			bad++
		}
		if g.json {
			continue
		}
		switch {
		case r.Problem != "":
			fmt.Fprintf(g.stdout, "%s: %s\n", r.RunID, r.Problem)
		case len(r.Missing) > 0:
			for _, m := range r.Missing {
				fmt.Fprintf(g.stdout, "%s: missing %s %s\n", r.RunID, displayRunPath(m.Path), m.Digest)
			}
			fmt.Fprintf(g.stdout, "%s: %d of %d objects missing on %s\n", r.RunID, len(r.Missing), r.Objects, name)
		case !g.quiet:
			fmt.Fprintf(g.stdout, "%s: ok (%d objects on %s, root %s)\n", r.RunID, r.Objects, name, r.Root)
		}
	}
	if g.json {
		if err := writeJSON(g.stdout, out); err != nil {
			return err
		}
	}
	if len(results) == 0 && !g.quiet && !g.json {
		fmt.Fprintln(g.stderr, "rigor: no runs to check")
	}
	if bad > 0 {
		return &exitStatus{code: exitIntegrity, msg: fmt.Sprintf("%d run(s) not complete on %s", bad, name)}
	}
	return nil
}

func displayRunPath(p string) string {
	if p == "" {
		return "(root)"
	}
	return p
}
