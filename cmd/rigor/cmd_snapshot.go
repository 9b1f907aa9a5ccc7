package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/rigor-dev/rigor/ingest"
	"github.com/rigor-dev/rigor/spec"
)

func newSnapshotCmd(g *globalOptions) *cobra.Command {
	c := &cobra.Command{
		Use:   "snapshot code|env|config|input ...",
		Short: "Capture code, environment, a config or a data input; print the record's digest",
		Long: `Capture one part of the world a run depends on, store it with a typed
record (canonical JSON, see spec/schemas) and print the record's digest, or
with --json the digest and the record. rigor run captures the same things
before it starts a run; snapshot lets each capture be inspected on its own.`,
	}
	c.AddCommand(newSnapshotCodeCmd(g), newSnapshotEnvCmd(g), newSnapshotConfigCmd(g), newSnapshotInputCmd(g))
	return c
}

// snapshotOutput is what --json prints.
type snapshotOutput struct {
	Digest   string   `json:"digest"`
	Record   any      `json:"record"`
	Warnings []string `json:"warnings,omitempty"`
}

func printSnapshot(g *globalOptions, d fmt.Stringer, rec any, warnings []ingest.Warning) error {
	var ws []string
	for _, w := range warnings {
		ws = append(ws, w.String())
		if !g.json {
			fmt.Fprintf(g.stderr, "rigor: warning: skipped %s\n", w.String())
		}
	}
	if g.json {
		return writeJSON(g.stdout, snapshotOutput{Digest: d.String(), Record: rec, Warnings: ws})
	}
	_, err := fmt.Fprintln(g.stdout, d.String())
	return err
}

// withIngester opens the store and runs fn with an Ingester on it.
func withIngester(ctx context.Context, g *globalOptions, fn func(in *ingest.Ingester) error) error {
	s, err := openStore(ctx, g)
	if err != nil {
		return err
	}
	defer s.Close()
	return fn(ingest.New(s, ingest.Options{}))
}

func checkDir(p string) error {
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return usagef("check the path; nothing was stored", "%s: no such directory", p)
	case err != nil:
		return err
	case !fi.IsDir():
		return usagef("name a directory", "%s: not a directory", p)
	}
	return nil
}

func newSnapshotCodeCmd(g *globalOptions) *cobra.Command {
	var opts ingest.CodeOptions
	c := &cobra.Command{
		Use:   "code [DIR]",
		Short: "Snapshot the source code: git commit, dirty flag, diff and a tree of the files",
		Long: `Snapshot the source code in DIR (default: the working directory). Inside a
git work tree the whole work tree is taken from its top: commit, ref, dirty
flag, the diff from HEAD (untracked files that git does not ignore included)
and a tree of every tracked and untracked-not-ignored file, submodules
included. Outside git the record says "UNAVAILABLE: not a git work tree" and
the directory is walked. Patterns are gitignore-like ("**" for any depth);
caches, virtual environments, .git and .rigor are excluded unless
--no-default-exclude.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			if err := checkDir(dir); err != nil {
				return err
			}
			return withIngester(cmd.Context(), g, func(in *ingest.Ingester) error {
				bar := newProgress(g, "snapshot code", 0)
				opts.Progress = bar.setWithTotal
				snap, err := in.SnapshotCode(cmd.Context(), dir, opts)
				bar.done()
				if errors.Is(err, ingest.ErrBadPattern) {
					return usagef("patterns are gitignore-like: *, ?, [a-z] within a name, ** for any depth", "%v", err)
				}
				if err != nil {
					return err
				}
				return printSnapshot(g, snap.Digest, snap.Record, snap.Warnings)
			})
		},
	}
	f := c.Flags()
	f.StringArrayVar(&opts.Include, "include", nil, "keep only files matching `PATTERN` (repeatable)")
	f.StringArrayVar(&opts.Exclude, "exclude", nil, "leave out files matching `PATTERN` (repeatable)")
	f.BoolVar(&opts.NoDefaultExclude, "no-default-exclude", false, "do not exclude caches, virtual environments, .git and .rigor")
	f.BoolVar(&opts.Rehash, "rehash", false, "read every file even when the stat cache says it is unchanged")
	return c
}

func newSnapshotEnvCmd(g *globalOptions) *cobra.Command {
	var opts ingest.EnvOptions
	var extraAllow []string
	c := &cobra.Command{
		Use:   "env",
		Short: "Record the environment: OS, CPU, memory, GPUs, Python and its packages, settings",
		Long: `Record the environment a run would execute in: OS and kernel, CPU model,
flags and cores, memory, GPUs and CUDA/cuDNN versions (nvidia-smi), the
Python interpreter with every installed distribution, the lock files of the
project directory, thread and device settings, locale, time zone and rigor's
build. Whatever cannot be probed is recorded as "UNAVAILABLE: <reason>".
Environment variables are recorded through an allow-list; any variable whose
name or value looks like a credential is recorded by name only, its value
redacted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Dir != "" {
				if err := checkDir(opts.Dir); err != nil {
					return err
				}
			}
			if len(extraAllow) > 0 {
				opts.Allow = append(append([]string{}, spec.DefaultEnvAllow...), extraAllow...)
			}
			return withIngester(cmd.Context(), g, func(in *ingest.Ingester) error {
				snap, err := in.ProbeEnv(cmd.Context(), opts)
				if err != nil {
					return err
				}
				return printSnapshot(g, snap.Digest, snap.Record, nil)
			})
		},
	}
	f := c.Flags()
	f.StringVar(&opts.Python, "python", "", "the Python interpreter the run uses (default: python3 on PATH)")
	f.StringVar(&opts.Dir, "dir", "", "project directory: where Python runs and lock files are found (default: working directory)")
	f.StringArrayVar(&extraAllow, "allow-env", nil, "also record environment variable `NAME` (a trailing * matches a prefix; repeatable)")
	f.BoolVar(&opts.Rehash, "rehash", false, "read lock files even when the stat cache says they are unchanged")
	return c
}

func newSnapshotConfigCmd(g *globalOptions) *cobra.Command {
	var schemaArg, format string
	c := &cobra.Command{
		Use:   "config FILE",
		Short: "Validate a matrix-row config (JSON or YAML) against a JSON Schema and store it canonically",
		Long: `Validate the matrix-row config FILE (JSON or YAML) against a JSON Schema
(draft 2020-12) and store it as given and in canonical JSON, whose digest is
the config's identity. --schema names a schema file, or "light" for the
Light toolkit's row config (the default), or "none". A config that breaks the
schema is refused, nothing is stored, and each failing JSON pointer is
listed with the reason.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSnapshotConfig(cmd.Context(), g, args[0], schemaArg, format)
		},
	}
	c.Flags().StringVar(&schemaArg, "schema", "light", "JSON Schema `FILE`, light, or none")
	c.Flags().StringVar(&format, "format", "", "json or yaml (default: from the file name or content)")
	return c
}

func runSnapshotConfig(ctx context.Context, g *globalOptions, path, schemaArg, format string) error {
	if format != "" && format != "json" && format != "yaml" {
		return usagef("use --format json or --format yaml", "unknown config format %q", format)
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return usagef("check the path; nothing was stored", "%s: no such file", path)
	} else if err != nil {
		return err
	}
	var sch *ingest.Schema
	switch schemaArg {
	case "none", "":
	case "light":
		raw, err := spec.Schema(spec.LightExperimentConfig)
		if err != nil {
			return err
		}
		if sch, err = ingest.CompileSchema(raw); err != nil {
			return err
		}
	default:
		raw, err := os.ReadFile(schemaArg)
		if err != nil {
			return usagef("name a JSON Schema file, light or none", "--schema: %v", err)
		}
		if sch, err = ingest.CompileSchema(raw); err != nil {
			return usagef("fix the schema or name another", "--schema %s: %v", schemaArg, err)
		}
	}
	return withIngester(ctx, g, func(in *ingest.Ingester) error {
		snap, err := in.RecordConfig(ctx, data, ingest.ConfigOptions{Path: path, Format: format, Schema: sch})
		var ce *ingest.ConfigError
		switch {
		case errors.As(err, &ce):
			if g.json {
				return &usageError{msg: ce.Error(), hint: "fix the config; nothing was stored"}
			}
			for _, p := range ce.Problems {
				fmt.Fprintf(g.stderr, "rigor: %s: %s\n", path, p)
			}
			return usagef("fix each listed field; nothing was stored",
				"%s does not match schema %s (%d problems)", path, ce.SchemaID, len(ce.Problems))
		case errors.Is(err, ingest.ErrConfigSyntax):
			return usagef("fix the file; nothing was stored", "%s: %v", path, err)
		case err != nil:
			return err
		}
		return printSnapshot(g, snap.Digest, snap.Record, nil)
	})
}

func newSnapshotInputCmd(g *globalOptions) *cobra.Command {
	var opts ingest.InputOptions
	c := &cobra.Command{
		Use:   "input PATH --role ROLE [--source-revision REV] [--split-id ID]",
		Short: "Record a data input (file or directory) with its role, revision and split",
		Long: `Record the file or directory PATH as a data input of a run. The record holds
the BLAKE3 digest (the store's identity) and the SHA-256 (the lineage hash of
Light formats; for a directory, of its sha256sum-format manifest). An input
recorded before and unchanged since is not read again (the store's stat
cache); --rehash forces a full read. A data input needs --source-revision.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Role == "" {
				return usagef("say what the run uses it for, e.g. --role data", "--role is required")
			}
			if opts.Role == "data" && opts.SourceRevision == "" {
				return usagef("name the upstream version with --source-revision", "a data input needs --source-revision")
			}
			if _, err := os.Stat(args[0]); errors.Is(err, fs.ErrNotExist) {
				return usagef("check the path; nothing was stored", "%s: no such file or directory", args[0])
			}
			return withIngester(cmd.Context(), g, func(in *ingest.Ingester) error {
				bar := newProgress(g, "snapshot input "+args[0], 0)
				opts.Progress = bar.setWithTotal
				snap, err := in.RecordInput(cmd.Context(), args[0], opts)
				bar.done()
				if err != nil {
					return err
				}
				return printSnapshot(g, snap.Digest, snap.Record, snap.Result.Warnings)
			})
		},
	}
	f := c.Flags()
	f.StringVar(&opts.Role, "role", "", "what the run uses the input for: data, weights, ...")
	f.StringVar(&opts.SourceRevision, "source-revision", "", "upstream version of the input (required for --role data)")
	f.StringVar(&opts.SplitID, "split-id", "", "the frozen split the input belongs to")
	f.BoolVar(&opts.Rehash, "rehash", false, "read every file even when the stat cache says it is unchanged")
	return c
}
