package oci

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"sync"
	"sync/atomic"

	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/errdef"
	orasremote "oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
	"oras.land/oras-go/v2/registry/remote/errcode"
	"oras.land/oras-go/v2/registry/remote/retry"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/internal/xfer"
	"github.com/rigor-dev/rigor/remote"
	"github.com/rigor-dev/rigor/spec"
)

// Limits on what is read from a registry into memory.
const (
	// MaxManifest is the largest manifest rigor pushes or reads: the limit
	// distribution/distribution and most registries enforce.
	MaxManifest = 4 << 20
	// maxTree bounds a tree layer (cas refuses larger trees too).
	maxTree = 64 << 20
	// maxIndexLayer bounds a run's index-entries layer.
	maxIndexLayer = 64 << 20
)

// Options configure [New]. The zero value reaches the registry over HTTPS
// with the credentials of the standard docker configuration.
type Options struct {
	// PlainHTTP uses http:// instead of https:// (a local registry).
	PlainHTTP bool
	// Client sends the HTTP requests. nil means an oras auth client that
	// takes credentials from the docker config ($DOCKER_CONFIG/config.json
	// or ~/.docker/config.json, including credential helpers and
	// credsStore) and retries on 5xx, 429 and dropped connections.
	Client orasremote.Client
}

// Registry is a repository of an OCI distribution registry used as a
// remote: each run is an image manifest tagged [spec.OCITag] of its run id.
// It is safe for concurrent use.
type Registry struct {
	repo *orasremote.Repository
	name string
}

// New returns the repository HOST[:PORT]/REPOSITORY as a remote. It does
// not contact the registry.
func New(host, repository string, opts Options) (*Registry, error) {
	repo, err := orasremote.NewRepository(host + "/" + repository)
	if err != nil {
		return nil, fmt.Errorf("%w: %s/%s: %v", remote.ErrBadURL, host, repository, err)
	}
	repo.PlainHTTP = opts.PlainHTTP
	repo.Client = opts.Client
	if repo.Client == nil {
		store, err := credentials.NewStoreFromDocker(credentials.StoreOptions{})
		if err != nil {
			return nil, fmt.Errorf("oci: docker credentials: %w", err)
		}
		c := &auth.Client{
			Client:     retry.DefaultClient,
			Cache:      auth.NewCache(),
			Credential: credentials.Credential(store),
		}
		c.SetUserAgent("rigor")
		repo.Client = c
	}
	return &Registry{repo: repo, name: host + "/" + repository}, nil
}

// String returns HOST[:PORT]/REPOSITORY.
func (r *Registry) String() string { return r.name }

// blob is one blob of a run's image: a file or tree of the run (b3 set)
// or the run's index layer (data set).
type blob struct {
	desc ocispec.Descriptor
	b3   digest.Digest
	path string
	data []byte
}

// image is a run as an OCI image manifest, ready to push.
type image struct {
	run      remote.Run
	tag      string
	manifest []byte
	desc     ocispec.Descriptor
	blobs    []blob // every blob the manifest references, once each
}

// shaSource finds the SHA-256 of store objects: from the store's SHA-256
// index, else by reading the object once (and remembering the result).
type shaSource struct {
	s      remote.Store
	mu     sync.Mutex
	known  map[digest.Digest]digest.Digest
	hashed atomic.Int64
}

func (c *shaSource) get(ctx context.Context, d digest.Digest) (digest.Digest, error) {
	c.mu.Lock()
	sha, ok := c.known[d]
	c.mu.Unlock()
	if ok {
		return sha, nil
	}
	hexSum, err := remote.LookupSHA256(ctx, c.s, d)
	if err != nil {
		return "", err
	}
	if hexSum == "" {
		rc, err := c.s.Open(ctx, d)
		if err != nil {
			return "", err
		}
		h := sha256.New()
		n, err := io.Copy(h, rc)
		rc.Close()
		if err != nil {
			return "", fmt.Errorf("%s: %w", d, err)
		}
		c.hashed.Add(n)
		hexSum = hex.EncodeToString(h.Sum(nil))
		if err := remote.RememberSHA256(ctx, c.s, d, hexSum); err != nil {
			return "", err
		}
	}
	sha = digest.NewDigestFromEncoded(digest.SHA256, hexSum)
	c.mu.Lock()
	c.known[d] = sha
	c.mu.Unlock()
	return sha, nil
}

// buildImage lays run out as an OCI image manifest (see spec.OCIArtifactType).
func buildImage(ctx context.Context, s remote.Store, shas *shaSource, run remote.Run, entries *spec.RunIndexEntries) (*image, error) {
	img := &image{run: run, tag: spec.OCITag(run.RunID)}
	seen := map[digest.Digest]bool{}
	add := func(b blob) {
		if !seen[b.desc.Digest] {
			seen[b.desc.Digest] = true
			img.blobs = append(img.blobs, b)
		}
	}
	var layers []ocispec.Descriptor
	config := ocispec.DescriptorEmptyJSON
	configData := ocispec.DescriptorEmptyJSON.Data

	// Files, in walk order, with every path they appear at.
	type frame struct {
		dir     string
		entries []cas.Entry
	}
	t, err := s.ReadTree(ctx, run.Root)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", run.RunID, err)
	}
	stack := []frame{{"", t.Entries}}
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if len(top.entries) == 0 {
			stack = stack[:len(stack)-1]
			continue
		}
		e := top.entries[0]
		top.entries = top.entries[1:]
		p := e.Name
		if top.dir != "" {
			p = top.dir + "/" + e.Name
		}
		if e.Mode == cas.ModeTree {
			sub, err := s.ReadTree(ctx, e.Digest)
			if err != nil {
				return nil, fmt.Errorf("run %s: %s: %w", run.RunID, p, err)
			}
			stack = append(stack, frame{p, sub.Entries})
			continue
		}
		sha, err := shas.get(ctx, e.Digest)
		if err != nil {
			return nil, fmt.Errorf("run %s: %s: %w", run.RunID, p, err)
		}
		d := ocispec.Descriptor{MediaType: spec.OCIMediaTypeFile, Digest: sha, Size: e.Size,
			Annotations: map[string]string{spec.OCIAnnotationTitle: p, spec.OCIAnnotationBLAKE3: e.Digest.String()}}
		layers = append(layers, d)
		add(blob{desc: d, b3: e.Digest, path: p})
		if p == "manifest.json" && e.Mode == cas.ModeFile {
			config = ocispec.Descriptor{MediaType: spec.OCIMediaTypeConfig, Digest: sha, Size: e.Size}
			configData = nil
		}
	}
	// Trees, children before parents, so a puller can store them in order.
	cl := remote.NewClosure()
	if err := cl.Add(ctx, s, run.Root); err != nil {
		return nil, fmt.Errorf("run %s: %w", run.RunID, err)
	}
	for _, o := range cl.Objects {
		if o.Kind != cas.KindTree {
			continue
		}
		sha, err := shas.get(ctx, o.Digest)
		if err != nil {
			return nil, fmt.Errorf("run %s: tree %s: %w", run.RunID, o.Digest, err)
		}
		d := ocispec.Descriptor{MediaType: spec.OCIMediaTypeTree, Digest: sha, Size: o.Size,
			Annotations: map[string]string{spec.OCIAnnotationBLAKE3: o.Digest.String()}}
		layers = append(layers, d)
		add(blob{desc: d, b3: o.Digest, path: o.Path + "/"})
	}
	// The run's index entries.
	idx, err := entries.Encode()
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", run.RunID, err)
	}
	idxDesc := ocispec.Descriptor{MediaType: spec.OCIMediaTypeRunIndex, Digest: digest.FromBytes(idx), Size: int64(len(idx))}
	layers = append(layers, idxDesc)
	add(blob{desc: idxDesc, data: idx, path: "(index entries)"})
	if configData != nil {
		add(blob{desc: ocispec.Descriptor{MediaType: config.MediaType, Digest: config.Digest, Size: config.Size}, data: configData, path: "(empty config)"})
	}

	m := ocispec.Manifest{
		Versioned:    specs.Versioned{SchemaVersion: 2},
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: spec.OCIArtifactType,
		Config:       config,
		Layers:       layers,
		Annotations: map[string]string{
			spec.OCIAnnotationRunID: run.RunID,
			spec.OCIAnnotationRef:   run.Ref,
			spec.OCIAnnotationRoot:  run.Root.String(),
		},
	}
	img.manifest, err = json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if len(img.manifest) > MaxManifest {
		return nil, fmt.Errorf("run %s: its OCI manifest of %d layers is %d bytes, over the %d registries accept: %w",
			run.RunID, len(layers), len(img.manifest), MaxManifest, ErrTooLarge)
	}
	img.desc = ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(img.manifest), Size: int64(len(img.manifest))}
	return img, nil
}

// ErrTooLarge: a run has too many files for one OCI manifest.
var ErrTooLarge = errors.New("oci: run too large for one manifest")

// remoteRun is a run's manifest as the registry holds it.
type remoteRun struct {
	desc     ocispec.Descriptor
	manifest ocispec.Manifest
	run      remote.Run
	// layers maps each BLAKE3 annotation to its layer.
	layers map[digest.Digest]ocispec.Descriptor
	index  *ocispec.Descriptor
}

// fetchRun reads and checks the manifest tagged tag. It returns an error
// wrapping remote.ErrRunNotFound when the tag does not exist, and
// ErrNotRun when it holds something else than a rigor run.
func (r *Registry) fetchRun(ctx context.Context, tag string) (*remoteRun, error) {
	desc, rc, err := r.repo.FetchReference(ctx, tag)
	if errors.Is(err, errdef.ErrNotFound) {
		return nil, fmt.Errorf("%s:%s: %w", r.name, tag, remote.ErrRunNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("%s:%s: %w", r.name, tag, err)
	}
	defer rc.Close()
	if desc.Size > MaxManifest {
		return nil, fmt.Errorf("%s:%s: manifest of %d bytes: %w", r.name, tag, desc.Size, remote.ErrBadRemoteData)
	}
	b, err := readVerified(rc, desc)
	if err != nil {
		return nil, fmt.Errorf("%s:%s: manifest: %w", r.name, tag, err)
	}
	return parseRun(r.name, tag, desc, b)
}

// parseRun decodes and checks the manifest b (desc, tagged tag), an
// untrusted input: it must be a rigor run whose run id and ref match the
// tag, with a BLAKE3 root, SHA-256 layers, a valid BLAKE3 on every file
// and tree layer (one SHA-256 per BLAKE3) and an index layer.
func parseRun(name, tag string, desc ocispec.Descriptor, b []byte) (*remoteRun, error) {
	rr := &remoteRun{desc: desc, layers: map[digest.Digest]ocispec.Descriptor{}}
	if err := json.Unmarshal(b, &rr.manifest); err != nil {
		return nil, fmt.Errorf("%s:%s: manifest: %v: %w", name, tag, err, remote.ErrBadRemoteData)
	}
	m := &rr.manifest
	if m.ArtifactType != spec.OCIArtifactType {
		return nil, fmt.Errorf("%s:%s: artifact type %q: %w", name, tag, m.ArtifactType, ErrNotRun)
	}
	runID := m.Annotations[spec.OCIAnnotationRunID]
	id, ref, err := remote.ParseRunName(runID)
	if err != nil || ref != m.Annotations[spec.OCIAnnotationRef] || spec.OCITag(id) != tag {
		return nil, fmt.Errorf("%s:%s: run id %q and ref %q do not match the tag: %w", name, tag, runID, m.Annotations[spec.OCIAnnotationRef], remote.ErrBadRemoteData)
	}
	root, err := cas.ParseDigest(m.Annotations[spec.OCIAnnotationRoot])
	if err != nil || root.Algorithm() != cas.BLAKE3 {
		return nil, fmt.Errorf("%s:%s: root %q: %w", name, tag, m.Annotations[spec.OCIAnnotationRoot], remote.ErrBadRemoteData)
	}
	rr.run = remote.Run{RunID: id, Ref: ref, Root: root}
	for i, l := range m.Layers {
		if err := l.Digest.Validate(); err != nil || l.Digest.Algorithm() != digest.SHA256 || l.Size < 0 {
			return nil, fmt.Errorf("%s:%s: layer %d: digest %q, size %d: %w", name, tag, i, l.Digest, l.Size, remote.ErrBadRemoteData)
		}
		switch l.MediaType {
		case spec.OCIMediaTypeRunIndex:
			rr.index = &m.Layers[i]
			continue
		case spec.OCIMediaTypeFile, spec.OCIMediaTypeTree:
		default:
			continue
		}
		b3, err := cas.ParseDigest(l.Annotations[spec.OCIAnnotationBLAKE3])
		if err != nil || b3.Algorithm() != cas.BLAKE3 {
			return nil, fmt.Errorf("%s:%s: layer %d: blake3 %q: %w", name, tag, i, l.Annotations[spec.OCIAnnotationBLAKE3], remote.ErrBadRemoteData)
		}
		if prev, ok := rr.layers[b3]; ok && (prev.Digest != l.Digest || prev.Size != l.Size) {
			return nil, fmt.Errorf("%s:%s: %s is both %s and %s: %w", name, tag, b3, prev.Digest, l.Digest, remote.ErrBadRemoteData)
		}
		rr.layers[b3] = l
	}
	if rr.index == nil {
		return nil, fmt.Errorf("%s:%s: no %s layer: %w", name, tag, spec.OCIMediaTypeRunIndex, remote.ErrBadRemoteData)
	}
	return rr, nil
}

// ErrNotRun: a tag holds an artifact that is not a rigor run.
var ErrNotRun = errors.New("oci: not a rigor run")

// Push sends the named runs of local (every run when names is empty) to
// the registry:
//
//  1. Each run's tag is resolved. A manifest with the same root: up to
//     date, nothing more is asked. Another root (or another artifact): a
//     conflict, left alone unless opts.Force.
//  2. The image of each run to send is built from the store: SHA-256
//     digests come from the store's SHA-256 index; a blob missing from it
//     is read once and its SHA-256 added, so later pushes do not re-hash.
//  3. Every blob of those images is asked for (HEAD) once and uploaded only
//     when the registry lacks it, opts.Workers() at a time: content shared
//     by many runs goes once, and a push interrupted and run again sends
//     only what did not arrive. The registry checks each upload's SHA-256.
//  4. Then each manifest is pushed under its tag.
func (r *Registry) Push(ctx context.Context, local remote.Store, names []string, opts remote.Options) (st remote.Stats, err error) {
	st.Runs = []remote.RunResult{}
	finished := map[string]bool{}
	defer func() {
		if err != nil && !errors.Is(err, remote.ErrConflict) {
			st.FailUnfinished(finished)
		}
	}()
	runs, err := remote.FindRuns(ctx, local, names)
	if err != nil {
		return st, err
	}
	var sending []remote.RunResult
	for _, run := range runs {
		res := remote.RunResult{Run: run, Status: remote.Sent}
		rr, err := r.fetchRun(ctx, spec.OCITag(run.RunID))
		switch {
		case errors.Is(err, remote.ErrRunNotFound):
		case errors.Is(err, ErrNotRun) || errors.Is(err, remote.ErrBadRemoteData):
			res.Status = remote.Conflict
			if opts.Force {
				res.Status = remote.Replaced
			}
		case err != nil:
			return st, err
		case rr.run.Root == run.Root && rr.run.Ref == run.Ref:
			res.Status = remote.UpToDate
		default:
			res.Status, res.Other = remote.Conflict, rr.run.Root
			if opts.Force {
				res.Status = remote.Replaced
			}
		}
		st.Runs = append(st.Runs, res)
		if res.Status == remote.Sent || res.Status == remote.Replaced {
			sending = append(sending, res)
		}
	}
	if len(sending) == 0 {
		return st, st.ConflictError()
	}
	toSend := make([]remote.Run, len(sending))
	for i, s := range sending {
		toSend[i] = s.Run
	}
	entries, err := remote.ReadIndexEntries(ctx, local, toSend)
	if err != nil {
		return st, err
	}
	shas := &shaSource{s: local, known: map[digest.Digest]digest.Digest{}}
	var images []*image
	var blobs []blob
	seen := map[digest.Digest]bool{}
	for _, run := range toSend {
		img, err := buildImage(ctx, local, shas, run, entries[run.RunID])
		st.BytesHashed = shas.hashed.Load()
		if err != nil {
			return st, err
		}
		images = append(images, img)
		for _, b := range img.blobs {
			if !seen[b.desc.Digest] {
				seen[b.desc.Digest] = true
				blobs = append(blobs, b)
			}
		}
	}
	var total int64
	for _, b := range blobs {
		total += b.desc.Size
	}
	prog := xfer.NewProgress(opts.Progress, total)
	var sentN, skipN atomic.Int64
	var sentB, skipB atomic.Int64
	err = xfer.Parallel(ctx, opts.Workers(), len(blobs), func(ctx context.Context, i int) error {
		b := blobs[i]
		ok, err := r.repo.Exists(ctx, b.desc)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", r.name, b.path, err)
		}
		if ok {
			skipN.Add(1)
			skipB.Add(b.desc.Size)
			prog.Add(b.desc.Size)
			return nil
		}
		var rd io.Reader
		if b.data != nil {
			rd = bytes.NewReader(b.data)
		} else {
			rc, err := local.Open(ctx, b.b3)
			if err != nil {
				return fmt.Errorf("%s: %w", b.path, err)
			}
			defer rc.Close()
			rd = rc
		}
		if err := r.repo.Push(ctx, b.desc, prog.Reader(rd)); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
			return fmt.Errorf("%s: upload %s (%s): %w", r.name, b.path, b.desc.Digest, err)
		}
		sentN.Add(1)
		sentB.Add(b.desc.Size)
		return nil
	})
	st.ObjectsSent, st.ObjectsSkipped = int(sentN.Load()), int(skipN.Load())
	st.BytesSent, st.BytesSkipped = sentB.Load(), skipB.Load()
	if err != nil {
		return st, err
	}
	for _, img := range images {
		if err := r.repo.PushReference(ctx, img.desc, bytes.NewReader(img.manifest), img.tag); err != nil {
			return st, fmt.Errorf("%s: run %s: push manifest: %w", r.name, img.run.RunID, err)
		}
		st.BytesSent += img.desc.Size
		finished[img.run.RunID] = true
	}
	return st, st.ConflictError()
}

// Pull fetches the named runs (every rigor run tagged in the repository
// when names is empty) into local:
//
//  1. Each run's manifest is fetched by tag and checked: its SHA-256, the
//     rigor artifact type, a run id and ref that match the tag, a BLAKE3
//     root. The local ref decides as in Push: up to date, conflict, or
//     (opts.Force) replaced.
//  2. Every file and tree layer whose BLAKE3 the local store lacks is
//     downloaded, opts.Workers() at a time, and stored through cas.Put
//     with the expected BLAKE3 and size while its SHA-256 is checked on
//     the way: a blob that fails either is never committed. Trees are
//     decoded and stored with PutTree, children first, which requires
//     their entries to be present.
//  3. Only when the root is present are the ref set and the index
//     entries (checked to name this run only) written, with the SHA-256
//     of every blob that was verified. Until then nothing is visible.
func (r *Registry) Pull(ctx context.Context, local remote.Store, names []string, opts remote.Options) (st remote.Stats, err error) {
	st.Runs = []remote.RunResult{}
	finished := map[string]bool{}
	defer func() {
		if err != nil && !errors.Is(err, remote.ErrConflict) {
			st.FailUnfinished(finished)
		}
	}()
	remotes, err := r.listRuns(ctx, names)
	if err != nil {
		return st, err
	}
	type pulling struct {
		res *remote.RunResult
		rr  *remoteRun
	}
	var todo []pulling
	for _, rr := range remotes {
		res := remote.RunResult{Run: rr.run, Status: remote.Sent}
		cur, err := local.GetRef(ctx, rr.run.Ref)
		switch {
		case errors.Is(err, cas.ErrRefNotFound):
		case err != nil:
			return st, err
		case cur == rr.run.Root:
			res.Status = remote.UpToDate
		default:
			res.Status, res.Other = remote.Conflict, cur
			if opts.Force {
				res.Status = remote.Replaced
			}
		}
		st.Runs = append(st.Runs, res)
	}
	for i, rr := range remotes {
		if s := st.Runs[i].Status; s == remote.Sent || s == remote.Replaced {
			todo = append(todo, pulling{&st.Runs[i], rr})
		}
	}
	// The objects to fetch, once each: blobs first, then trees in
	// manifest order (children first).
	var blobs, trees []fetchable
	seen := map[digest.Digest]bool{}
	var total int64
	for _, p := range todo {
		for _, l := range p.rr.manifest.Layers {
			if l.MediaType != spec.OCIMediaTypeFile && l.MediaType != spec.OCIMediaTypeTree {
				continue
			}
			b3 := digest.Digest(l.Annotations[spec.OCIAnnotationBLAKE3]) // checked by fetchRun
			if seen[b3] {
				continue
			}
			seen[b3] = true
			ok, err := local.Has(ctx, b3)
			if err != nil {
				return st, err
			}
			if ok {
				st.ObjectsSkipped++
				st.BytesSkipped += l.Size
				continue
			}
			f := fetchable{desc: l, b3: b3, path: l.Annotations[spec.OCIAnnotationTitle]}
			if l.MediaType == spec.OCIMediaTypeTree {
				trees = append(trees, f)
			} else {
				blobs = append(blobs, f)
			}
			total += l.Size
		}
	}
	prog := xfer.NewProgress(opts.Progress, total)
	var sentN, sentB atomic.Int64
	var verified sync.Map // blake3 → sha256 hex of blobs checked both ways
	err = xfer.Parallel(ctx, opts.Workers(), len(blobs), func(ctx context.Context, i int) error {
		f := blobs[i]
		if err := r.fetchBlob(ctx, local, f, prog); err != nil {
			return err
		}
		verified.Store(f.b3, f.desc.Digest.Encoded())
		sentN.Add(1)
		sentB.Add(f.desc.Size)
		return nil
	})
	st.ObjectsSent, st.BytesSent = int(sentN.Load()), sentB.Load()
	if err != nil {
		return st, err
	}
	for _, f := range trees {
		if err := r.fetchTree(ctx, local, f); err != nil {
			return st, err
		}
		prog.Add(f.desc.Size)
		st.ObjectsSent++
		st.BytesSent += f.desc.Size
	}
	var shaErr error
	verified.Range(func(k, v any) bool {
		shaErr = remote.RememberSHA256(ctx, local, k.(digest.Digest), v.(string))
		return shaErr == nil
	})
	if shaErr != nil {
		return st, shaErr
	}
	for _, p := range todo {
		run := p.rr.run
		ok, err := local.Has(ctx, run.Root)
		if err != nil {
			return st, err
		}
		if !ok {
			return st, fmt.Errorf("%s: run %s: root %s is not among its layers: %w", r.name, run.RunID, run.Root, remote.ErrBadRemoteData)
		}
		b, err := r.fetchSmall(ctx, *p.rr.index, maxIndexLayer)
		if err != nil {
			return st, fmt.Errorf("%s: run %s: index entries: %w", r.name, run.RunID, err)
		}
		st.ObjectsSent++
		st.BytesSent += int64(len(b))
		entries, err := spec.DecodeRunIndexEntries(b)
		if err != nil {
			return st, fmt.Errorf("%s: run %s: index entries: %v: %w", r.name, run.RunID, err, remote.ErrBadRemoteData)
		}
		if entries.RunID != run.RunID || entries.Ref != run.Ref || entries.Root != run.Root {
			return st, fmt.Errorf("%s: run %s: index entries name run %s: %w", r.name, run.RunID, entries.RunID, remote.ErrBadRemoteData)
		}
		// Index entries before the ref, as remote.StoreRemote.Pull does:
		// a kill in between must not leave a run without its lineage.
		if err := remote.WriteIndexEntries(ctx, local, entries, p.res.Status == remote.Replaced); err != nil {
			return st, fmt.Errorf("run %s: %w", run.RunID, err)
		}
		if err := local.SetRef(ctx, run.Ref, p.res.Other, run.Root); err != nil {
			return st, fmt.Errorf("run %s: %w", run.RunID, err)
		}
		finished[run.RunID] = true
	}
	return st, st.ConflictError()
}

// fetchable is a layer to download.
type fetchable struct {
	desc ocispec.Descriptor
	b3   digest.Digest
	path string
}

// listRuns fetches the manifests of the named runs, or of every rigor
// run tagged in the repository.
func (r *Registry) listRuns(ctx context.Context, names []string) ([]*remoteRun, error) {
	var out []*remoteRun
	if len(names) > 0 {
		seen := map[string]bool{}
		for _, n := range names {
			id, _, err := remote.ParseRunName(n)
			if err != nil {
				return nil, err
			}
			if seen[id] {
				continue
			}
			seen[id] = true
			rr, err := r.fetchRun(ctx, spec.OCITag(id))
			if err != nil {
				return nil, fmt.Errorf("run %s: %w", n, err)
			}
			out = append(out, rr)
		}
		return out, nil
	}
	var tags []string
	err := r.repo.Tags(ctx, "", func(page []string) error {
		tags = append(tags, page...)
		return nil
	})
	var resp *errcode.ErrorResponse
	if errors.Is(err, errdef.ErrNotFound) || (errors.As(err, &resp) && resp.StatusCode == http.StatusNotFound) {
		return nil, nil // a repository nothing was pushed to yet
	}
	if err != nil {
		return nil, fmt.Errorf("%s: list tags: %w", r.name, err)
	}
	for _, tag := range tags {
		rr, err := r.fetchRun(ctx, tag)
		if errors.Is(err, ErrNotRun) || errors.Is(err, remote.ErrRunNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, rr)
	}
	return out, nil
}

// fetchBlob downloads layer f into s: cas.Put checks the BLAKE3 and size,
// the reader the SHA-256, so nothing unverified is committed.
func (r *Registry) fetchBlob(ctx context.Context, s cas.Putter, f fetchable, prog *xfer.Progress) error {
	rc, err := r.repo.Fetch(ctx, f.desc)
	if err != nil {
		return fmt.Errorf("%s: %s (%s): %w", r.name, f.path, f.desc.Digest, err)
	}
	defer rc.Close()
	vr := newVerifyReader(prog.Reader(rc), f.desc)
	if _, err := s.Put(ctx, vr, cas.PutOptions{Kind: cas.KindBlob, Expected: f.b3, Size: f.desc.Size}); err != nil {
		if errors.Is(err, cas.ErrDigestMismatch) || errors.Is(err, cas.ErrSizeMismatch) {
			err = fmt.Errorf("%w: %w", remote.ErrBadRemoteData, err)
		}
		return fmt.Errorf("%s: %s (%s): %w", r.name, f.path, f.desc.Digest, err)
	}
	return nil
}

// fetchTree downloads tree layer f, checks both digests, and stores it.
func (r *Registry) fetchTree(ctx context.Context, s remote.Store, f fetchable) error {
	t, err := r.readTree(ctx, f.desc, f.b3)
	if err != nil {
		return err
	}
	info, err := s.PutTree(ctx, t)
	if err != nil {
		return fmt.Errorf("%s: tree %s: %w", r.name, f.b3, err)
	}
	if info.Digest != f.b3 {
		return fmt.Errorf("%s: tree %s stored as %s: %w", r.name, f.b3, info.Digest, remote.ErrBadRemoteData)
	}
	return nil
}

// readTree downloads a tree layer and decodes it after checking its
// SHA-256 and BLAKE3.
func (r *Registry) readTree(ctx context.Context, desc ocispec.Descriptor, b3 digest.Digest) (cas.Tree, error) {
	b, err := r.fetchSmall(ctx, desc, maxTree)
	if err != nil {
		return cas.Tree{}, fmt.Errorf("%s: tree %s: %w", r.name, b3, err)
	}
	if got := cas.FromBytes(b); got != b3 {
		return cas.Tree{}, fmt.Errorf("%s: tree %s: content hashes to %s: %w", r.name, b3, got, remote.ErrBadRemoteData)
	}
	t, err := cas.DecodeTree(b)
	if err != nil {
		return cas.Tree{}, fmt.Errorf("%s: tree %s: %v: %w", r.name, b3, err, remote.ErrBadRemoteData)
	}
	return t, nil
}

// fetchSmall downloads a blob of at most limit bytes, verified.
func (r *Registry) fetchSmall(ctx context.Context, desc ocispec.Descriptor, limit int64) ([]byte, error) {
	if desc.Size > limit {
		return nil, fmt.Errorf("%s of %d bytes exceeds %d: %w", desc.Digest, desc.Size, limit, remote.ErrBadRemoteData)
	}
	rc, err := r.repo.Fetch(ctx, desc)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return readVerified(rc, desc)
}

// readVerified reads desc's content from rd, which must have its size and
// SHA-256 (or whichever algorithm desc names).
func readVerified(rd io.Reader, desc ocispec.Descriptor) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(newVerifyReader(rd, desc)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// verifyReader passes through exactly desc.Size bytes and, instead of
// io.EOF, returns an error wrapping remote.ErrBadRemoteData when the
// content is shorter, longer or hashes to another digest. A consumer that
// commits only on io.EOF (cas.Put) therefore never commits bad content.
type verifyReader struct {
	r    io.Reader
	desc ocispec.Descriptor
	h    hash.Hash
	n    int64
	err  error
}

func newVerifyReader(r io.Reader, desc ocispec.Descriptor) *verifyReader {
	vr := &verifyReader{r: io.LimitReader(r, desc.Size+1), desc: desc}
	if desc.Digest.Validate() == nil && desc.Digest.Algorithm().Available() {
		vr.h = desc.Digest.Algorithm().Hash()
	} else {
		vr.err = fmt.Errorf("digest %q: %w", desc.Digest, remote.ErrBadRemoteData)
	}
	return vr
}

func (v *verifyReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.r.Read(p)
	v.n += int64(n)
	v.h.Write(p[:n])
	switch {
	case v.n > v.desc.Size:
		v.err = fmt.Errorf("%s: more than %d bytes: %w", v.desc.Digest, v.desc.Size, remote.ErrBadRemoteData)
		return 0, v.err
	case err == io.EOF:
		if v.n != v.desc.Size {
			v.err = fmt.Errorf("%s: %d bytes, want %d: %w", v.desc.Digest, v.n, v.desc.Size, remote.ErrBadRemoteData)
			return n, v.err
		}
		if got := digest.NewDigest(v.desc.Digest.Algorithm(), v.h); got != v.desc.Digest {
			v.err = fmt.Errorf("%s: content hashes to %s: %w", v.desc.Digest, got, remote.ErrBadRemoteData)
			return n, v.err
		}
		v.err = io.EOF
		return n, io.EOF
	case err != nil:
		v.err = err
	}
	return n, err
}

// Check reports, for each named run (every run of local when names is
// empty), whether the registry holds its whole closure: the run's
// manifest under its tag with the same root, and every object below the
// root as a layer of that manifest that the registry has (asked with
// HEAD, never downloaded), plus the run's index layer. When local lacks
// the run, the registry's own tree layers are read (small) to find the
// objects; file content is never downloaded.
func (r *Registry) Check(ctx context.Context, local remote.Store, names []string) ([]remote.CheckResult, error) {
	runs, err := remote.CheckList(ctx, local, names)
	if err != nil {
		return nil, err
	}
	exists := &existsCache{r: r, known: map[digest.Digest]bool{}}
	var out []remote.CheckResult
	for _, run := range runs {
		side := &registrySide{r: r, exists: exists}
		res, err := remote.CheckRun(ctx, local, run, side)
		if err != nil {
			return out, err
		}
		if side.rr != nil && res.Problem == "" {
			ok, err := exists.has(ctx, *side.rr.index)
			if err != nil {
				return out, err
			}
			if !ok {
				res.Missing = append(res.Missing, remote.Missing{Path: "(index entries)", Digest: side.rr.index.Digest})
			}
		}
		out = append(out, res)
	}
	return out, nil
}

// existsCache asks the registry about each blob once.
type existsCache struct {
	r     *Registry
	mu    sync.Mutex
	known map[digest.Digest]bool
}

func (c *existsCache) has(ctx context.Context, desc ocispec.Descriptor) (bool, error) {
	c.mu.Lock()
	ok, found := c.known[desc.Digest]
	c.mu.Unlock()
	if found {
		return ok, nil
	}
	ok, err := c.r.repo.Exists(ctx, desc)
	if err != nil {
		return false, fmt.Errorf("%s: %s: %w", c.r.name, desc.Digest, err)
	}
	c.mu.Lock()
	c.known[desc.Digest] = ok
	c.mu.Unlock()
	return ok, nil
}

// registrySide answers a check for one run from its manifest.
type registrySide struct {
	r      *Registry
	exists *existsCache
	rr     *remoteRun
}

func (s *registrySide) Root(ctx context.Context, run remote.Run) (digest.Digest, error) {
	rr, err := s.r.fetchRun(ctx, spec.OCITag(run.RunID))
	if err != nil {
		return "", err
	}
	if rr.run.RunID != run.RunID {
		return "", fmt.Errorf("%s: tag %s holds run %s: %w", s.r.name, spec.OCITag(run.RunID), rr.run.RunID, remote.ErrBadRemoteData)
	}
	s.rr = rr
	return rr.run.Root, nil
}

func (s *registrySide) ReadTree(ctx context.Context, d digest.Digest) (cas.Tree, error) {
	l, ok := s.rr.layers[d]
	if !ok || l.MediaType != spec.OCIMediaTypeTree {
		return cas.Tree{}, fmt.Errorf("%s: no tree layer %s: %w", s.r.name, d, cas.ErrNotFound)
	}
	t, err := s.r.readTree(ctx, l, d)
	if errors.Is(err, errdef.ErrNotFound) {
		return cas.Tree{}, fmt.Errorf("%s: tree %s: %w", s.r.name, d, cas.ErrNotFound)
	}
	return t, err
}

func (s *registrySide) Has(ctx context.Context, o remote.Object) (bool, error) {
	l, ok := s.rr.layers[o.Digest]
	if !ok {
		return false, nil
	}
	return s.exists.has(ctx, l)
}
