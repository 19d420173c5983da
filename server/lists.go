package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/emnify-mock/emnify-mock/eventlog"
	"github.com/emnify-mock/emnify-mock/server/internal/wire"
)

// listSpec says how a resource list filters (q field → match) and sorts.
type listSpec[T any] struct {
	filters     map[string]func(T, string) bool
	sorts       map[string]func(a, b T) int
	def, maxPer int
}

// serveList filters, sorts and pages items (already in id order) and
// writes them with encode. Sorted by id, a page costs the page; a q filter
// or another sort costs the workspace. Call it holding the read lock: encode reads the
// platform.
func serveList[T any](w http.ResponseWriter, r *http.Request, items []T, spec listSpec[T], encode func(T) any) {
	pg, apiErr := parsePaging(r, spec.def, spec.maxPer)
	if apiErr != nil {
		wire.WriteError(w, apiErr)
		return
	}
	params := r.URL.Query()
	if q := params.Get("q"); q != "" {
		parts := strings.Split(q, ",")
		if len(parts) > eventlog.MaxCriteria {
			wire.WriteError(w, queryAPIError(eventlog.TooManyCriteria(len(parts))))
			return
		}
		for _, part := range parts {
			field, value, ok := strings.Cut(part, ":")
			match := spec.filters[field]
			values := strings.Split(value, "|")
			if !ok || match == nil || len(values) > 6 {
				wire.WriteError(w, queryAPIError(eventlog.BadCriteria(part)))
				return
			}
			items = slices.DeleteFunc(slices.Clone(items), func(it T) bool {
				return !slices.ContainsFunc(values, func(v string) bool { return match(it, v) })
			})
		}
	}
	allowed := map[string]bool{}
	for k := range spec.sorts {
		allowed[k] = true
	}
	keys, err := eventlog.ParseSort(params.Get("sort"), allowed)
	if err != nil {
		wire.WriteError(w, queryAPIError(err))
		return
	}
	total := len(items)
	pages := max(1, (total+pg.perPage-1)/pg.perPage)
	page := min(max(pg.page, 1), pages)
	lo, hi := (page-1)*pg.perPage, min(page*pg.perPage, total)
	var onPage []T
	switch {
	case len(keys) == 1 && keys[0].Field == "id" && !keys[0].Desc: // items are in id order: the page costs the page
		onPage = items[lo:hi]
	case len(keys) == 1 && keys[0].Field == "id":
		for i := total - 1 - lo; i > total-1-hi; i-- {
			onPage = append(onPage, items[i])
		}
	default:
		items = slices.Clone(items)
		slices.SortStableFunc(items, func(a, b T) int {
			for _, k := range keys {
				c := spec.sorts[k.Field](a, b)
				if k.Desc {
					c = -c
				}
				if c != 0 {
					return c
				}
			}
			return 0
		})
		onPage = items[lo:hi]
	}
	// Encoded straight into the page's buffer: a copy of each item's JSON
	// was a third of what a page allocated.
	buf := pageBuffers.Get().(*[]byte)
	body := bytes.NewBuffer((*buf)[:0])
	body.WriteByte('[')
	enc := json.NewEncoder(body) // the bytes json.Marshal makes, and a newline
	for i, it := range onPage {
		if i > 0 {
			body.WriteByte(',')
		}
		if err := enc.Encode(encode(it)); err != nil {
			pageBuffers.Put(buf)
			wire.WriteError(w, wire.Internal("internal error"))
			return
		}
		body.Truncate(body.Len() - 1)
	}
	body.WriteByte(']')
	*buf = body.Bytes()
	writePage(w, r, wire.JSON, total, page, pg.perPage, buf)
}

// queryAPIError is a bad q or sort as emnify answers it: 422.
func queryAPIError(err error) *wire.Error {
	qe := err.(*eventlog.QueryError)
	return &wire.Error{Status: http.StatusUnprocessableEntity, Code: qe.Code, Token: qe.Token, Message: qe.Message}
}
