package serve_test

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"

	"github.com/rigor-dev/rigor/cas"
	"github.com/rigor-dev/rigor/serve"
)

// keepOpen lends the server a store that the example closes itself.
type keepOpen struct{ *cas.Store }

func (keepOpen) Close() error { return nil }

// A notebook fetches an artifact by digest with one HTTP call; the
// digest comes back in the headers and the bytes were verified on the way.
func ExampleNew() {
	ctx := context.Background()
	st, err := cas.Init(ctx, "", cas.Options{InMemory: true})
	if err != nil {
		panic(err)
	}
	defer st.Close()
	info, err := st.Put(ctx, strings.NewReader("id,p\n1,0.25\n2,0.75\n"), cas.PutOptions{})
	if err != nil {
		panic(err)
	}

	// rigor serve passes serve.OpenDir(".rigor", 0): the store is opened
	// per burst of requests and closed in between.
	srv := serve.New(func(context.Context) (serve.Store, error) { return keepOpen{st}, nil }, serve.Options{})
	defer srv.Close()

	req := httptest.NewRequest("GET", "/blobs/"+info.Digest.String(), nil)
	req.Host = "127.0.0.1:8765" // without a token, only loopback hosts are served
	req.Header.Set("Range", "bytes=5-")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)

	body, _ := io.ReadAll(rec.Body)
	fmt.Println(rec.Code, rec.Header().Get("Content-Range"))
	fmt.Println(rec.Header().Get("Digest") == info.Digest.String())
	fmt.Print(string(body))
	// Output:
	// 206 bytes 5-18/19
	// true
	// 1,0.25
	// 2,0.75
}
