package remote

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
)

// RemotesIndex is the store index that holds the configured remotes: key
// the remote's name, value its [Remote] as JSON. Keeping them in the store
// (not a file beside it) makes add and remove atomic under the store lock.
const RemotesIndex = "remotes"

// Remote is a configured remote.
type Remote struct {
	Name string `json:"name"`
	// URL is a store directory (absolute) or oci://HOST[:PORT]/REPOSITORY.
	URL string `json:"url"`
	// PlainHTTP reaches a registry over http:// instead of https://.
	PlainHTTP bool `json:"plain_http,omitempty"`
}

// Kind says what a remote URL points at.
type Kind int

const (
	// KindStore is another rigor store, by path.
	KindStore Kind = iota + 1
	// KindOCI is a repository of an OCI distribution registry.
	KindOCI
)

// URL is a parsed remote URL.
type URL struct {
	Kind Kind
	// Path is the store directory of a KindStore URL, absolute and clean.
	Path string
	// Host ("HOST" or "HOST:PORT") and Repository ("team/runs") of a
	// KindOCI URL.
	Host       string
	Repository string
}

// String returns the canonical form: the path, or oci://HOST/REPOSITORY.
func (u URL) String() string {
	if u.Kind == KindOCI {
		return "oci://" + u.Host + "/" + u.Repository
	}
	return u.Path
}

// ParseURL parses a remote URL: a path of a rigor store (a project
// directory holding .rigor/, or the .rigor/ directory itself; relative
// paths are made absolute), a file:// URL of one, or
// oci://HOST[:PORT]/REPOSITORY. Other schemes and malformed URLs give an
// error wrapping [ErrBadURL]. The repository is checked against the OCI
// distribution grammar (lower-case path components).
func ParseURL(s string) (URL, error) {
	if s == "" {
		return URL{}, fmt.Errorf("%w: empty", ErrBadURL)
	}
	scheme, rest, hasScheme := strings.Cut(s, "://")
	if !hasScheme {
		if strings.HasPrefix(s, "file:") || strings.HasPrefix(s, "oci:") {
			return URL{}, fmt.Errorf("%w: %q: want file:///path or oci://HOST[:PORT]/REPOSITORY", ErrBadURL, s)
		}
		abs, err := filepath.Abs(s)
		if err != nil {
			return URL{}, fmt.Errorf("%w: %q: %v", ErrBadURL, s, err)
		}
		return URL{Kind: KindStore, Path: abs}, nil
	}
	switch scheme {
	case "file":
		u, err := url.Parse(s)
		if err != nil {
			return URL{}, fmt.Errorf("%w: %q: %v", ErrBadURL, s, err)
		}
		if u.Host != "" && u.Host != "localhost" {
			return URL{}, fmt.Errorf("%w: %q: a file URL names a local path (file:///path)", ErrBadURL, s)
		}
		if u.Path == "" || !filepath.IsAbs(u.Path) {
			return URL{}, fmt.Errorf("%w: %q: a file URL needs an absolute path (file:///path)", ErrBadURL, s)
		}
		return URL{Kind: KindStore, Path: filepath.Clean(u.Path)}, nil
	case "oci":
		host, repo, ok := strings.Cut(rest, "/")
		if !ok || host == "" || repo == "" {
			return URL{}, fmt.Errorf("%w: %q: want oci://HOST[:PORT]/REPOSITORY", ErrBadURL, s)
		}
		if strings.ContainsAny(host, "@?#") || strings.ContainsAny(repo, "@:?#") {
			return URL{}, fmt.Errorf("%w: %q: an oci URL names a repository, not a tag or digest (oci://HOST[:PORT]/REPOSITORY)", ErrBadURL, s)
		}
		if !repoPattern.MatchString(repo) {
			return URL{}, fmt.Errorf("%w: %q: repository %q must be lower-case path components of letters, digits and . _ - separators", ErrBadURL, s, repo)
		}
		return URL{Kind: KindOCI, Host: host, Repository: repo}, nil
	}
	return URL{}, fmt.Errorf("%w: %q: scheme %q; use a store path, file:///path or oci://HOST[:PORT]/REPOSITORY", ErrBadURL, s, scheme)
}

// repoPattern is the repository name grammar of the OCI distribution spec.
var repoPattern = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$`)

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// CheckName reports whether name can name a remote: 1 to 64 letters,
// digits, '.', '_' or '-', starting with a letter or digit.
func CheckName(name string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("%w: remote name %q must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", ErrBadName, name)
	}
	return nil
}

// configStore is where remotes are kept; *cas.Store satisfies it.
type configStore interface {
	PutIndex(ctx context.Context, index string, key, value []byte) error
	ScanIndex(ctx context.Context, index string, prefix []byte, fn func(key, value []byte) error) error
	DeleteIndex(ctx context.Context, index string, key []byte) error
}

// AddRemote records r after checking its name and URL (stored in canonical
// form). It returns an error wrapping [ErrRemoteExists] if the name is
// taken.
func AddRemote(ctx context.Context, s configStore, r Remote) (Remote, error) {
	if err := CheckName(r.Name); err != nil {
		return r, err
	}
	u, err := ParseURL(r.URL)
	if err != nil {
		return r, err
	}
	r.URL = u.String()
	if u.Kind != KindOCI && r.PlainHTTP {
		return r, fmt.Errorf("%w: plain HTTP applies to oci:// remotes only", ErrBadURL)
	}
	if _, err := GetRemote(ctx, s, r.Name); err == nil {
		return r, fmt.Errorf("%s: %w", r.Name, ErrRemoteExists)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return r, err
	}
	return r, s.PutIndex(ctx, RemotesIndex, []byte(r.Name), b)
}

// RemoveRemote forgets the remote name; [ErrNoRemote] if there is none.
func RemoveRemote(ctx context.Context, s configStore, name string) error {
	if _, err := GetRemote(ctx, s, name); err != nil {
		return err
	}
	return s.DeleteIndex(ctx, RemotesIndex, []byte(name))
}

// GetRemote returns the remote name; [ErrNoRemote] if there is none.
func GetRemote(ctx context.Context, s configStore, name string) (Remote, error) {
	var (
		r     Remote
		found bool
	)
	err := s.ScanIndex(ctx, RemotesIndex, []byte(name), func(k, v []byte) error {
		if string(k) != name {
			return nil
		}
		found = true
		return json.Unmarshal(v, &r)
	})
	if err != nil {
		return r, fmt.Errorf("remote %s: %w", name, err)
	}
	if !found {
		return r, fmt.Errorf("%s: %w", name, ErrNoRemote)
	}
	return r, nil
}

// ListRemotes returns every configured remote, by name.
func ListRemotes(ctx context.Context, s configStore) ([]Remote, error) {
	var out []Remote
	err := s.ScanIndex(ctx, RemotesIndex, nil, func(k, v []byte) error {
		var r Remote
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("remote %s: %w", k, err)
		}
		out = append(out, r)
		return nil
	})
	return out, err
}
