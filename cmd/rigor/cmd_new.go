package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/rigor-dev/rigor/scaffold"
)

func newNewCmd(g *globalOptions) *cobra.Command {
	var opts scaffold.Options
	c := &cobra.Command{
		Use:   "new DIR",
		Short: "Create a Python experiment project laid out for rigor",
		Long: `Create a Python experiment project in DIR, which must not exist or be empty.

The project has a row config and its JSON Schema, seeding helpers
(set_global_seed, seed_worker, make_generator), data/model/metric interfaces
with a train-only fitting helper, a standard-library baseline that writes
per-entity predictions and per-fold metrics, tests (gold, Hypothesis
property and metamorphic, train-only fit), a pre-commit config running
rigor's gates and a CI workflow. Its tests pass as generated:

  rigor new my-study && cd my-study && python3 -m pytest

The Python package is src/<package>/, named after DIR (lower case, other
characters replaced by '_') unless --package says otherwise.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runNew(g, args[0], opts)
		},
	}
	f := c.Flags()
	f.StringVar(&opts.Package, "package", "", "Python package name (default: derived from DIR)")
	f.StringVar(&opts.Project, "project", "", "distribution name in pyproject.toml (default: derived from DIR)")
	return c
}

func runNew(g *globalOptions, dir string, opts scaffold.Options) error {
	opts, err := scaffold.Resolve(dir, opts)
	if errors.Is(err, scaffold.ErrBadName) {
		return usagef("name it with --package NAME (or --project NAME): lower-case letters, digits and '_'", "%v", err)
	}
	if err != nil {
		return err
	}
	files, err := scaffold.Render(opts)
	if err != nil {
		return err
	}
	err = scaffold.Write(dir, opts)
	if errors.Is(err, scaffold.ErrNotEmpty) {
		return usagef("give a new directory name, or an empty directory", "%s already exists and is not an empty directory", dir)
	}
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if g.json {
		paths := make([]string, len(files))
		for i, f := range files {
			paths[i] = f.Path
		}
		return writeJSON(g.stdout, map[string]any{
			"dir": abs, "package": opts.Package, "project": opts.Project, "files": paths,
		})
	}
	if g.quiet {
		return nil
	}
	w := g.stdout
	fmt.Fprintf(w, "created experiment project %s (package %s, %d files) in %s\n\n", opts.Project, opts.Package, len(files), abs)
	fmt.Fprintf(w, "next:\n")
	fmt.Fprintf(w, "  cd %s\n", dir)
	fmt.Fprintf(w, "  python3 -m pytest                 # its tests (needs pytest and hypothesis)\n")
	fmt.Fprintf(w, "  rigor init                        # a store for its runs\n")
	fmt.Fprintf(w, "  rigor run --config configs/experiment.example.json -- python3 train.py --config configs/experiment.example.json\n")
	return nil
}
