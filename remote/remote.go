package remote

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	digest "github.com/opencontainers/go-digest"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/spec"
)

// Error vocabulary of the remote package.
var (
	// ErrConflict: a run's ref exists on both sides with different roots.
	// Nothing of that run was changed; Options.Force replaces it.
	ErrConflict = errors.New("remote: run differs on the other side")
	// ErrRunNotFound: a named run is not in the store it was looked up in.
	ErrRunNotFound = errors.New("remote: run not found")
	// ErrBadName: a remote name or run name cannot be used.
	ErrBadName = errors.New("remote: bad name")
	// ErrBadURL: a remote URL is not a store path, file:// or oci:// URL.
	ErrBadURL = errors.New("remote: bad remote URL")
	// ErrNoRemote: no remote has that name.
	ErrNoRemote = errors.New("remote: no such remote")
	// ErrRemoteExists: a remote of that name is already configured.
	ErrRemoteExists = errors.New("remote: remote already exists")
	// ErrSameStore: the remote is the local store itself.
	ErrSameStore = errors.New("remote: remote is the local store")
	// ErrBadRemoteData: what the other side sent does not match what it
	// claims (a digest, a size, a run record that names another run). It
	// is never stored.
	ErrBadRemoteData = errors.New("remote: bad data from remote")
)

// Store is what push and pull need of a store: read and write objects,
// refs and indexes. *cas.Store satisfies it. It composes the cas role
// interfaces because a transfer does all of those things, on both sides.
type Store interface {
	cas.Getter
	cas.Putter
	cas.Refs
	cas.Indexer
	ReadTree(ctx context.Context, d digest.Digest) (cas.Tree, error)
	PutTree(ctx context.Context, t cas.Tree) (cas.Info, error)
	Has(ctx context.Context, d digest.Digest) (bool, error)
}

var _ Store = (*cas.Store)(nil)

// Run names a recorded run: its run id, its ref and the root digest of its
// bundle.
type Run struct {
	RunID string        `json:"run_id"`
	Ref   string        `json:"ref"`
	Root  digest.Digest `json:"root"`
}

// Status is what a push or pull did with one run. Printed and in JSON: do
// not reorder; append only.
type Status int

const (
	// Sent: the run was not on the receiving side; it is now.
	Sent Status = iota + 1
	// UpToDate: the receiving side already had the run with the same root.
	UpToDate
	// Conflict: the receiving side has another root under the run's ref;
	// nothing was changed.
	Conflict
	// Replaced: as Conflict, but Options.Force replaced the other root.
	Replaced
	// Failed: the run was to be sent but the transfer stopped (an error,
	// a cancellation) before its ref was set; what arrived of it stays
	// and is not sent again next time.
	Failed
)

func (s Status) String() string {
	switch s {
	case Sent:
		return "sent"
	case UpToDate:
		return "up-to-date"
	case Conflict:
		return "conflict"
	case Replaced:
		return "replaced"
	case Failed:
		return "failed"
	}
	return fmt.Sprintf("status(%d)", int(s))
}

// MarshalText makes a Status print as its name in JSON.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// RunResult is the outcome of one run of a push or pull.
type RunResult struct {
	Run
	Status Status `json:"status"`
	// Other is the root the receiving side had under the ref, for a
	// Conflict or Replaced run.
	Other digest.Digest `json:"other,omitempty"`
}

// Stats summarise a push or pull. An object is a blob or tree of the runs'
// closures (plus, for a registry, each run's index layer; manifests are
// counted in bytes only); it is sent when the receiving side lacked it and
// skipped otherwise.
type Stats struct {
	Runs           []RunResult `json:"runs"`
	ObjectsSent    int         `json:"objects_sent"`
	ObjectsSkipped int         `json:"objects_skipped"`
	BytesSent      int64       `json:"bytes_sent"`
	BytesSkipped   int64       `json:"bytes_skipped"`
	// BytesHashed counts bytes read only to learn a SHA-256 the store's
	// index did not hold (registry pushes); it is 0 once every blob's
	// SHA-256 is known.
	BytesHashed int64 `json:"bytes_hashed"`
}

// FailUnfinished marks as [Failed] every run still to be sent (Sent or
// Replaced) whose run id finished does not hold. Transfers call it when
// they stop early, so that Stats never claim a run arrived that did not.
func (s *Stats) FailUnfinished(finished map[string]bool) {
	for i := range s.Runs {
		r := &s.Runs[i]
		if (r.Status == Sent || r.Status == Replaced) && !finished[r.RunID] {
			r.Status = Failed
		}
	}
}

// Conflicts returns the runs that were refused.
func (s *Stats) Conflicts() []RunResult {
	var out []RunResult
	for _, r := range s.Runs {
		if r.Status == Conflict {
			out = append(out, r)
		}
	}
	return out
}

// ConflictError returns an error wrapping [ErrConflict] that names every
// refused run, or nil when there is none.
func (s *Stats) ConflictError() error {
	c := s.Conflicts()
	if len(c) == 0 {
		return nil
	}
	parts := make([]string, len(c))
	for i, r := range c {
		other := r.Other.String()
		if other == "" {
			other = "another artifact under the run's tag"
		}
		parts[i] = fmt.Sprintf("%s (sending side %s, receiving side %s)", r.RunID, r.Root, other)
	}
	return fmt.Errorf("%w: %s", ErrConflict, strings.Join(parts, ", "))
}

// Options control a push or pull. The zero value refuses conflicts, moves
// four objects at a time and reports no progress.
type Options struct {
	// Force replaces a run whose ref the receiving side has with another
	// root, instead of refusing it.
	Force bool
	// Concurrency is the number of objects moved at once. ≤0 means 4.
	Concurrency int
	// Progress, if set, is called as bytes move, with the bytes done and
	// the total to move. Calls are serialised but may come from any
	// goroutine; it must return quickly.
	Progress func(done, total int64)
}

// Workers returns Concurrency or its default.
func (o Options) Workers() int {
	if o.Concurrency <= 0 {
		return 4
	}
	return o.Concurrency
}

// ParseRunName accepts a run id ("EXP-01__seed-42__attempt-1") or a run ref
// ("runs/EXP-01/seed-42/attempt-1") and returns both. Anything else gives
// an error wrapping [ErrBadName].
func ParseRunName(s string) (runID, ref string, err error) {
	if row, seed, attempt, ok := spec.ParseRunID(s); ok {
		return s, spec.RunRef(row, seed, attempt), nil
	}
	if rest, ok := strings.CutPrefix(s, "runs/"); ok {
		parts := strings.Split(rest, "/")
		if len(parts) == 3 {
			id := parts[0] + "__" + parts[1] + "__" + parts[2]
			if row, seed, attempt, ok := spec.ParseRunID(id); ok && spec.RunRef(row, seed, attempt) == s {
				return id, s, nil
			}
		}
	}
	return "", "", fmt.Errorf("%w: %q is not a run id <row>__seed-<n>__attempt-<k> or a ref runs/<row>/seed-<n>/attempt-<k>", ErrBadName, s)
}

// refLister is what listing runs needs.
type refLister interface {
	GetRef(ctx context.Context, name string) (digest.Digest, error)
	ListRefs(ctx context.Context, prefix string, fn func(name string, d digest.Digest) error) error
}

// ListRuns returns every run of a store (every ref runs/<row>/seed-<n>/
// attempt-<k>), in ref order. Refs under runs/ of another shape are left
// out.
func ListRuns(ctx context.Context, s refLister) ([]Run, error) {
	var runs []Run
	err := s.ListRefs(ctx, "runs/", func(name string, d digest.Digest) error {
		if id, ref, err := ParseRunName(name); err == nil {
			runs = append(runs, Run{RunID: id, Ref: ref, Root: d})
		}
		return nil
	})
	return runs, err
}

// FindRuns resolves run names (run ids or refs) in a store, in the order
// given, each once; no names means every run ([ListRuns]). A name that is
// not a run gives an error wrapping [ErrBadName]; a run the store does not
// have, [ErrRunNotFound].
func FindRuns(ctx context.Context, s refLister, names []string) ([]Run, error) {
	if len(names) == 0 {
		return ListRuns(ctx, s)
	}
	var runs []Run
	for _, n := range names {
		id, ref, err := ParseRunName(n)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(runs, func(r Run) bool { return r.Ref == ref }) {
			continue
		}
		root, err := s.GetRef(ctx, ref)
		if errors.Is(err, cas.ErrRefNotFound) {
			return nil, fmt.Errorf("%s: %w", n, ErrRunNotFound)
		}
		if err != nil {
			return nil, err
		}
		runs = append(runs, Run{RunID: id, Ref: ref, Root: root})
	}
	return runs, nil
}
