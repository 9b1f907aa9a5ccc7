package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/serve"
)

// serveOptions are the flags of rigor serve.
type serveOptions struct {
	addr        string
	token       string
	lockTimeout time.Duration
	// ready, if set, is called with the listening address once the server
	// accepts connections (tests use it with port 0).
	ready func(addr string)
}

const defaultServeAddr = "127.0.0.1:8765"

func newServeCmd(g *globalOptions) *cobra.Command {
	o := serveOptions{}
	c := &cobra.Command{
		Use:   "serve [--addr HOST:PORT] [--token TOKEN]",
		Short: "Serve web pages and a JSON API over the store, read-only",
		Long: `Serve the store over HTTP until interrupted: a runs table (filter, sort, pages),
run pages (identity, status, completion and oracle, config, environment, code
and the dirty diff, inputs with both digests, logs with search and tail,
artifacts, per-fold metrics as a table and a plot, gate findings), compare
pages for two runs, lineage graphs and gate reports. Every page has a JSON
twin under /api/ (/api/runs, /api/runs/{id}, /api/compare?a=&b=,
/api/lineage/{digest}), and GET /blobs/{digest} streams any object, verified
as it is read, with its digest in the ETag and Digest headers and byte ranges.
Everything is embedded in the rigor binary.

The server binds 127.0.0.1 by default and serves loopback clients only. Any
other address needs --token (or RIGOR_SERVE_TOKEN): every request must then
carry "Authorization: Bearer TOKEN", or come from a browser that opened a page
once with ?token=TOKEN (which sets a cookie).

The store allows one process at a time. The server opens it for each burst
of requests and closes it when they are done (and at least every 2 seconds
under steady traffic), so runs and adds can record meanwhile; a request that
cannot get the store within --lock-timeout gets 503 and should be retried.
A blob download holds the store until its last byte.`,
		Example: `  rigor serve
  rigor serve --addr 127.0.0.1:9000
  RIGOR_SERVE_TOKEN=$(openssl rand -hex 16) rigor serve --addr 0.0.0.0:8765`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.token == "" {
				o.token = os.Getenv("RIGOR_SERVE_TOKEN")
			}
			return runServe(cmd.Context(), g, o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.addr, "addr", defaultServeAddr, "address to listen on, HOST:PORT (port 0 picks a free one)")
	f.StringVar(&o.token, "token", "", "bearer token every request must carry (env RIGOR_SERVE_TOKEN); required off loopback")
	f.DurationVar(&o.lockTimeout, "lock-timeout", 5*time.Second, "how long a request waits for the store while another rigor holds it")
	return c
}

func runServe(ctx context.Context, g *globalOptions, o serveOptions) error {
	if _, _, err := net.SplitHostPort(o.addr); err != nil {
		return usagef("give --addr HOST:PORT, such as 127.0.0.1:8765", "bad --addr %q: %v", o.addr, err)
	}
	if !serve.IsLoopbackAddr(o.addr) && o.token == "" {
		return usagef("give --token TOKEN (or RIGOR_SERVE_TOKEN), or listen on 127.0.0.1",
			"refusing to serve on %s without a token: it is not a loopback address", o.addr)
	}
	if o.lockTimeout <= 0 {
		return usagef("give a positive duration such as 5s", "--lock-timeout must be positive")
	}
	dir, err := findStore(g)
	if err != nil {
		return err
	}
	srv := serve.New(serve.OpenDir(dir, o.lockTimeout), serve.Options{
		Token:       o.token,
		LockTimeout: o.lockTimeout,
		Logf: func(format string, args ...any) {
			if !g.quiet {
				fmt.Fprintf(g.stderr, "rigor: serve: "+format+"\n", args...)
			}
		},
	})
	// Fail now on a directory that is not a store, and read the runs index
	// before the first page; a store that another process holds is fine
	// (the server waits for it per request).
	switch err := srv.Warm(ctx); {
	case errors.Is(err, cas.ErrNotStore):
		return withHint(err, "run 'rigor init' to create one, or point --store at an existing store")
	case errors.Is(err, serve.ErrBusy):
		if !g.quiet {
			fmt.Fprintf(g.stderr, "rigor: serve: %s is busy (another rigor holds it); serving anyway\n", dir)
		}
	case err != nil:
		return err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		srv.Close()
		return fmt.Errorf("listen on %s: %w", o.addr, err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()

	url := "http://" + ln.Addr().String() + "/"
	if g.json {
		writeJSON(g.stdout, map[string]any{"url": url, "store": dir, "token_required": o.token != ""})
	} else {
		fmt.Fprintln(g.stdout, url)
		if !g.quiet {
			fmt.Fprintf(g.stderr, "rigor: serving %s at %s (read-only); interrupt to stop\n", dir, url)
			if o.token != "" {
				fmt.Fprintln(g.stderr, "rigor: open the page once with ?token=TOKEN, or send Authorization: Bearer TOKEN")
			}
		}
	}
	if o.ready != nil {
		o.ready(ln.Addr().String())
	}
	select {
	case err := <-done:
		srv.Close()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = hs.Shutdown(sctx)
	srv.Close()
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	return nil
}
