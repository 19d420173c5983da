package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/emnify-mock/emnify-mock/server/internal/wire"
)

// paging is a list request's page and page size, with the platform's rules
// (emnify-api.md §1.3): per_page below 1 takes the default, above the
// maximum is clamped; page below 1 is the first, past the end the last.
type paging struct {
	page, perPage int
}

func parsePaging(r *http.Request, def, maxPerPage int) (paging, *wire.Error) {
	p := paging{page: 1, perPage: def}
	for _, f := range []struct {
		name string
		to   *int
	}{{"page", &p.page}, {"per_page", &p.perPage}} {
		v := r.URL.Query().Get(f.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return p, wire.BadRequest(fmt.Sprintf("Cannot parse parameter %s as Integer: For input string: %q", f.name, v))
		}
		*f.to = n
	}
	if p.perPage < 1 {
		p.perPage = def
	}
	p.perPage = min(p.perPage, maxPerPage)
	return p, nil
}

// writePage sends one page of a list, body (a JSON array from
// pageBuffers, which gets it back), with the paging headers and Link.
func writePage(w http.ResponseWriter, r *http.Request, contentType string, total, page, perPage int, body *[]byte) {
	pages := max(1, (total+perPage-1)/perPage)
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("X-Count-Per-Page", strconv.Itoa(perPage))
	h.Set("X-Current-Page", strconv.Itoa(page))
	h.Set("X-Total-Count", strconv.Itoa(total))
	h.Set("X-Total-Pages", strconv.Itoa(pages))
	q := r.URL.Query()
	sort := q.Get("sort")
	if sort == "" {
		sort = "id"
	}
	h.Set("X-Sort", sort)
	if f := q.Get("q"); f != "" {
		h.Set("X-Filter", f)
	}
	h.Set("Link", links(r, q, page, pages, perPage))
	defer pageBuffers.Put(body)
	h.Set("Content-Length", strconv.Itoa(len(*body)))
	w.WriteHeader(http.StatusOK)
	w.Write(*body)
}

// pageBuffers holds the buffers pages are joined in: a page is tens of
// kilobytes, and a new one per request was a large allocation, cleared,
// and garbage a moment later.
var pageBuffers = sync.Pool{New: func() any { return new([]byte) }}

// links builds the Link header; it is empty when there is one page, as
// recorded.
func links(r *http.Request, q url.Values, page, pages, perPage int) string {
	if pages <= 1 {
		return ""
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	q.Del("page")
	q.Del("per_page")
	prefix := fmt.Sprintf("<%s://%s%s?", scheme, r.Host, r.URL.Path)
	if rest := q.Encode(); rest != "" {
		prefix += rest + "&"
	}
	link := func(p int, rel string) string {
		return fmt.Sprintf(`%spage=%d&per_page=%d>;rel="%s"`, prefix, p, perPage, rel)
	}
	parts := []string{link(1, "first")}
	if page > 1 {
		parts = append(parts, link(page-1, "prev"))
	}
	if page < pages {
		parts = append(parts, link(page+1, "next"))
	}
	parts = append(parts, link(pages, "last"))
	return strings.Join(parts, ", ")
}

// joinJSON makes a JSON array of encoded elements, in a buffer from
// pageBuffers.
func joinJSON(items [][]byte) *[]byte {
	buf := pageBuffers.Get().(*[]byte)
	b := append((*buf)[:0], '[')
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, it...)
	}
	*buf = append(b, ']')
	return buf
}
