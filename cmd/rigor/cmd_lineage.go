package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/verify"
)

func newLineageCmd(g *globalOptions) *cobra.Command {
	var depth int
	c := &cobra.Command{
		Use:   "lineage DIGEST|PATH",
		Short: "Which runs used this content as an input, which produced it, and the chains beyond",
		Long: `Trace a piece of content through the recorded runs: the runs that produced it
as an output, the runs that used it as an input (or as their config or code),
and the chains beyond: the runs that used an output of those, and the runs
that produced an input of the producers. The content is named by its digest
(blake3:<hex>, sha256:<hex>, or a unique prefix of a stored object's digest)
or by a PATH to a file, which is hashed (BLAKE3) and not stored.

The answer comes from the lineage indexes written when runs are recorded
(rigor run, rigor import), never from reading every run. --depth limits how
many runs away the chains are followed (default: all the way).`,
		Example: `  rigor lineage data/train.csv
  rigor lineage blake3:4f1c...
  rigor lineage --json --depth 1 sha256:9a0b...`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if depth < 0 {
				return usagef("give a depth of 1 or more, or 0 for no limit", "negative --depth")
			}
			return runLineage(cmd.Context(), g, args[0], depth)
		},
	}
	c.Flags().IntVar(&depth, "depth", 0, "follow chains at most this many runs away (0: no limit)")
	return c
}

func runLineage(ctx context.Context, g *globalOptions, arg string, depth int) error {
	defer relaxGC()()
	s, err := openStoreReadOnly(ctx, g)
	if err != nil {
		return err
	}
	defer s.Close()
	content, err := lineageSubject(ctx, s, arg)
	if err != nil {
		return err
	}
	l, err := verify.TraceLineage(ctx, s, s, content, verify.LineageOptions{MaxDepth: depth})
	if err != nil {
		return err
	}
	if g.json {
		return writeJSON(g.stdout, l)
	}
	printLineage(g.stdout, l)
	return nil
}

// lineageSubject turns the argument into a digest string: a file is hashed,
// a sha256: digest is taken as is, anything else is resolved in the store.
func lineageSubject(ctx context.Context, s *cas.Store, arg string) (string, error) {
	if fi, err := os.Stat(arg); err == nil {
		if !fi.Mode().IsRegular() {
			return "", usagef("give the digest of its tree instead ('rigor add' prints it)", "%s is not a regular file", arg)
		}
		f, err := os.Open(arg)
		if err != nil {
			return "", err
		}
		defer f.Close()
		d, _, err := cas.FromReader(f)
		if err != nil {
			return "", err
		}
		return d.String(), nil
	}
	if strings.HasPrefix(arg, "sha256:") {
		d, err := cas.ParseDigest(arg)
		if err != nil {
			return "", usagef("give sha256:<64 hex digits>", "malformed digest %q: %v", arg, err)
		}
		return d.String(), nil
	}
	if strings.HasPrefix(arg, "blake3:") && len(arg) == len("blake3:")+64 {
		d, err := cas.ParseDigest(arg)
		if err != nil {
			return "", usagef(digestHint, "malformed digest %q: %v", arg, err)
		}
		return d.String(), nil // content need not be stored to have lineage
	}
	d, err := s.Resolve(ctx, arg)
	switch {
	case err == nil:
		return d.String(), nil
	case errors.Is(err, cas.ErrNotFound):
		return "", usagef("name an existing file, a full digest, or a prefix of a stored object's digest", "%q is neither a file nor a known digest", arg)
	case errors.Is(err, cas.ErrBadDigest), errors.Is(err, cas.ErrUnsupported):
		return "", usagef("name an existing file, blake3:<hex>, sha256:<hex> or a digest prefix", "%q is neither a file nor a digest", arg)
	case errors.Is(err, cas.ErrAmbiguous):
		return "", usagef("give more hex digits to make the prefix unique", "%v", err)
	}
	return "", err
}

func printLineage(w io.Writer, l *verify.Lineage) {
	fmt.Fprintln(w, l.Content)
	if len(l.Upstream)+len(l.Downstream) == 0 {
		fmt.Fprintln(w, "no recorded run used or produced this content")
		return
	}
	section := func(title string, hops []verify.Hop, depth int, upstream bool) {
		var picked []verify.Hop
		for _, h := range hops {
			if (depth == 1) == (h.Depth == 1) {
				picked = append(picked, h)
			}
		}
		if len(picked) == 0 {
			return
		}
		fmt.Fprintln(w, title)
		for _, h := range picked {
			what := h.Role
			if h.Kind != "" && h.Kind != "input" {
				what = h.Kind
			}
			if upstream {
				what = h.Name
			}
			line := fmt.Sprintf("  %s  %s", h.Run, h.Path)
			if what != "" {
				line += " (" + what + ")"
			}
			if h.Depth > 1 {
				rel := "used by"
				if !upstream {
					rel = "produced by"
				}
				line = fmt.Sprintf("  [%d] %s  %s (%s)  %s %s", h.Depth, h.Run, h.Path, what, rel, h.Via)
			}
			fmt.Fprintln(w, line)
		}
	}
	section("produced by:", l.Upstream, 1, true)
	section("used by:", l.Downstream, 1, false)
	section("upstream (runs that produced an input of a producer):", l.Upstream, 2, true)
	section("downstream (runs that used an output of a user):", l.Downstream, 2, false)
	if l.Truncated {
		fmt.Fprintln(w, "(the chains go on; raise --depth)")
	}
}
