package eventlog

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/emnify-mock/emnify-mock/generator"
)

// Query is a parsed request for events: the caller's organisation, an
// optional path scope, q filters (AND across fields, OR across the up to 6
// values of one field) and the sort.
type Query struct {
	org        int64
	scope      string // "", "endpoint", "sim", "user"
	scopeID    int64
	from, to   int64 // Unix ms; to == 0: no range
	types      []int
	sources    []int
	severities []int
	alert      *bool
	simSets    [][]int64 // each q field naming SIMs gives one set
	epSets     [][]int64
	text       []textFilter
	none       bool // a filter that no device-status event can match
	sort       []SortKey
}

type textFilter struct {
	field  string
	values []string
}

// Scope is the part of the log an event list is about: the caller's
// organisation, and the endpoint, SIM or user of a scoped route.
type Scope struct {
	Org  int64
	Kind string // "", "endpoint", "sim", "user"
	ID   int64
	None bool // nothing can match (an application token's own events)
}

// ParseQuery reads an event list's q and sort within a scope; a bad one is
// a *QueryError.
func ParseQuery(l *Log, sc Scope, q, sort string) (*Query, error) {
	eq := &Query{org: sc.Org, scope: sc.Kind, scopeID: sc.ID, none: sc.None}
	var err error
	if eq.sort, err = ParseSort(sort, eventSortFields); err != nil {
		return nil, err
	}
	if err := parseQ(l, q, eq); err != nil {
		return nil, err
	}
	return eq, nil
}

// SortKey is one field of a sort, descending or not.
type SortKey struct {
	Field string
	Desc  bool
}

// QueryError is a bad q or sort: the API answers it 422 with emnify's
// body, which has these fields.
type QueryError struct {
	Code    int
	Token   string
	Message string
}

func (e *QueryError) Error() string { return e.Message }

func BadCriteria(c string) error {
	return &QueryError{1301, "InvalidQueryCriteria", fmt.Sprintf("Search criteria %s is invalid", c)}
}

// MaxCriteria bounds the field:value pairs of one q (inferred: emnify
// documents up to 6 values per field, not a number of pairs).
const MaxCriteria = 16

func TooManyCriteria(n int) error {
	return &QueryError{1301, "InvalidQueryCriteria", fmt.Sprintf("Search criteria are too many: %d, at most %d", n, MaxCriteria)}
}

var multiValue = map[string]bool{"iccid": true, "iccid_with_luhn": true, "endpoint": true, "type": true, "network": true, "rat": true, "country": true}

// parseQ reads q: comma-separated field:value pairs (emnify-api.md
// §1.2). A value may hold colons (timestamps); it may not hold commas.
func parseQ(l *Log, q string, eq *Query) error {
	if q == "" {
		return nil
	}
	var from, until string
	parts := strings.Split(q, ",")
	if len(parts) > MaxCriteria {
		return TooManyCriteria(len(parts))
	}
	for _, part := range parts {
		field, value, ok := strings.Cut(part, ":")
		if !ok || value == "" {
			return BadCriteria(part)
		}
		values := []string{value}
		if multiValue[field] {
			values = strings.Split(value, "|")
			if len(values) > 6 {
				return BadCriteria(part)
			}
		}
		switch field {
		case "from":
			from = value
		case "until":
			until = value
		case "type", "source", "severity":
			var ints []int
			for _, v := range values {
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 {
					return BadCriteria(part)
				}
				ints = append(ints, n)
			}
			switch field {
			case "type":
				eq.types = append(eq.types, ints...)
			case "source":
				eq.sources = ints
			default:
				eq.severities = ints
			}
		case "alert":
			b, err := strconv.ParseBool(value)
			if err != nil {
				return BadCriteria(part)
			}
			eq.alert = &b
		case "iccid", "iccid_with_luhn", "imsi":
			eq.simSets = append(eq.simSets, l.lookup(l.simByNumber, values))
		case "endpoint", "ip_address", "imei":
			eq.epSets = append(eq.epSets, l.lookup(l.endpointByKey, values))
		case "description", "organisation", "user", "tags", "timestamp":
			eq.text = append(eq.text, textFilter{field, values})
		case "network", "rat", "country":
			eq.none = true // fields of network events, which the mock does not make
		default:
			return BadCriteria(part)
		}
	}
	if (from == "") != (until == "") {
		return BadCriteria("from/until: each is only valid together with the other")
	}
	if from != "" {
		f, err1 := time.Parse(time.RFC3339, from)
		u, err2 := time.Parse(time.RFC3339, until)
		if err1 != nil || err2 != nil {
			return BadCriteria("from:" + from + ",until:" + until)
		}
		eq.from, eq.to = f.UnixMilli(), u.UnixMilli()
	}
	return nil
}

func (l *Log) lookup(m map[string][]int64, values []string) []int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var ids []int64
	for _, v := range values {
		ids = append(ids, m[v]...)
	}
	if ids == nil {
		ids = []int64{} // a filter that matches nothing is still a filter
	}
	return ids
}

var eventSortFields = map[string]bool{
	"id": true, "timestamp": true, "source": true, "severity": true, "alert": true, "organisation": true,
	"user": true, "endpoint": true, "tags": true, "ip_address": true, "iccid": true, "imsi": true, "type": true,
}

// ParseSort reads a comma-separated sort with optional - (descending) or
// + (ascending) prefixes. An empty sort is by id.
func ParseSort(s string, allowed map[string]bool) ([]SortKey, error) {
	if s == "" {
		return []SortKey{{Field: "id"}}, nil
	}
	var keys []SortKey
	seen := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		k := SortKey{Field: f}
		if rest, ok := strings.CutPrefix(f, "-"); ok {
			k = SortKey{Field: rest, Desc: true}
		} else if rest, ok := strings.CutPrefix(f, "+"); ok {
			k.Field = rest
		}
		if !allowed[k.Field] {
			return nil, &QueryError{1302, "InvalidSortCriteria", fmt.Sprintf("Sort criteria %s is invalid", f)}
		}
		// A field sorts once; a second key on it could change nothing,
		// and would only cost (inferred: the platform's answer is unknown).
		if seen[k.Field] {
			return nil, &QueryError{1302, "InvalidSortCriteria", fmt.Sprintf("Sort criteria %s is given twice", k.Field)}
		}
		seen[k.Field] = true
		keys = append(keys, k)
	}
	return keys, nil
}

// find returns how many events match and the JSON of one page of them.
// With only index-backed filters and sorting by id, it costs in proportion
// to the page; other filters and sorts scan the candidates.
func (l *Log) Find(q *Query, page, perPage int) (total int, out [][]byte, pageNo int) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if q.none {
		return 0, nil, 1
	}
	lists, exact := l.candidates(q)
	byID := len(q.sort) == 1 && q.sort[0].Field == "id"
	if exact && byID { // the page straight from the indexes
		total = 0
		for _, list := range lists {
			total += len(list)
		}
		pages := max(1, (total+perPage-1)/perPage)
		pageNo = min(max(page, 1), pages)
		lo, hi := (pageNo-1)*perPage, min(pageNo*perPage, total)
		if q.sort[0].Desc {
			lo, hi = total-hi, total-lo
		}
		recs := mergedRange(lists, lo, hi)
		if q.sort[0].Desc {
			slices.Reverse(recs)
		}
		for _, i := range recs {
			out = append(out, l.raw(&l.recs[i]))
		}
		return total, out, pageNo
	}
	var list []int32
	for _, i := range union(lists) {
		if l.match(&l.recs[i], q) {
			list = append(list, i)
		}
	}
	if !byID {
		l.sortRecs(list, q.sort)
	}
	total = len(list)
	pages := max(1, (total+perPage-1)/perPage)
	pageNo = min(max(page, 1), pages)
	lo, hi := (pageNo-1)*perPage, min(pageNo*perPage, total)
	for k := lo; k < hi; k++ {
		i := k
		if byID && q.sort[0].Desc {
			i = total - 1 - k
		}
		out = append(out, l.raw(&l.recs[list[i]]))
	}
	return total, out, pageNo
}

// mergedRange returns the elements at places [lo, hi) of the ascending
// merge of disjoint ascending lists, without merging what lies before:
// a binary search over the values finds where place lo starts in each
// list, then a k-way merge takes hi-lo elements. It costs
// O((hi-lo)·k + k·log²n), not O(n).
func mergedRange(lists [][]int32, lo, hi int) []int32 {
	if lo >= hi {
		return nil
	}
	if len(lists) == 1 {
		return slices.Clone(lists[0][lo:hi])
	}
	below := func(v int32) int { // elements < v in all lists
		n := 0
		for _, list := range lists {
			i, _ := slices.BinarySearch(list, v)
			n += i
		}
		return n
	}
	// The element at place lo is the largest v with below(v) <= lo.
	var top int32
	for _, list := range lists {
		if len(list) > 0 {
			top = max(top, list[len(list)-1])
		}
	}
	v := int32(sort.Search(int(top)+1, func(x int) bool { return below(int32(x)+1) > lo }))
	heads := make([]int, len(lists))
	for k, list := range lists {
		heads[k], _ = slices.BinarySearch(list, v)
	}
	out := make([]int32, 0, hi-lo)
	for len(out) < hi-lo {
		best := -1
		for k, list := range lists {
			if heads[k] < len(list) && (best < 0 || list[heads[k]] < lists[best][heads[best]]) {
				best = k
			}
		}
		out = append(out, lists[best][heads[best]])
		heads[best]++
	}
	return out
}

// candidates picks the shortest index list that holds every match; exact
// means it holds nothing else.
func (l *Log) candidates(q *Query) (lists [][]int32, exact bool) {
	switch q.scope {
	case "endpoint":
		return [][]int32{l.byEndpoint[q.scopeID]}, false
	case "sim":
		return [][]int32{l.bySIM[q.scopeID]}, false
	case "user":
		return [][]int32{l.byUser[q.scopeID]}, false
	}
	only := len(q.sources) == 0 && len(q.severities) == 0 && q.alert == nil && q.to == 0 &&
		len(q.simSets) == 0 && len(q.epSets) == 0 && len(q.text) == 0
	// Each record has one type, SIM and endpoint: the lists of distinct
	// values are disjoint.
	if len(q.types) > 0 {
		for _, t := range slices.Compact(slices.Sorted(slices.Values(q.types))) {
			lists = append(lists, l.byOrgType[orgType{q.org, t}])
		}
		return lists, only
	}
	if len(q.simSets) > 0 {
		for _, id := range q.simSets[0] {
			lists = append(lists, l.bySIM[id])
		}
		return lists, false
	}
	if len(q.epSets) > 0 {
		for _, id := range q.epSets[0] {
			lists = append(lists, l.byEndpoint[id])
		}
		return lists, false
	}
	return [][]int32{l.byOrg[q.org]}, only
}

// union merges ascending lists into one ascending list without repeats.
func union(lists [][]int32) []int32 {
	switch len(lists) {
	case 0:
		return nil
	case 1:
		return lists[0]
	}
	var out []int32
	for _, l := range lists {
		out = append(out, l...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (l *Log) match(r *rec, q *Query) bool {
	switch {
	case r.org != q.org:
		return false
	case q.to != 0 && (r.ts < q.from || r.ts > q.to):
		return false
	case len(q.types) > 0 && !slices.Contains(q.types, int(r.typ)):
		return false
	case len(q.sources) > 0 && !slices.Contains(q.sources, int(r.src)):
		return false
	case len(q.severities) > 0 && !slices.Contains(q.severities, int(r.sev)):
		return false
	case q.alert != nil && *q.alert != r.alert:
		return false
	}
	for _, set := range q.simSets {
		if !slices.Contains(set, r.sim) {
			return false
		}
	}
	for _, set := range q.epSets {
		if !slices.Contains(set, r.ep) {
			return false
		}
	}
	if len(q.text) == 0 {
		return true
	}
	var e generator.Event
	if json.Unmarshal(l.raw(r), &e) != nil {
		return false
	}
	for _, f := range q.text {
		if !slices.ContainsFunc(f.values, func(v string) bool { return textMatch(&e, f.field, v) }) {
			return false
		}
	}
	return true
}

// textMatch: descriptions match by substring, names and tags exactly,
// all case-insensitively (emnify does not document how; design.md).
func textMatch(e *generator.Event, field, v string) bool {
	switch field {
	case "description":
		return strings.Contains(strings.ToLower(e.Description), strings.ToLower(v))
	case "organisation":
		return strings.EqualFold(e.Organisation.Name, v)
	case "user":
		return e.User != nil && (strings.EqualFold(e.User.Name, v) || strings.EqualFold(e.User.Username, v))
	case "tags":
		return e.Endpoint != nil && e.Endpoint.Tags != nil && strings.EqualFold(*e.Endpoint.Tags, v)
	case "timestamp": // one day, deprecated
		return e.Timestamp.Format("2006-01-02") == v
	}
	return false
}

// sortRecs sorts by the keys; ties keep log (id) order.
func (l *Log) sortRecs(list []int32, keys []SortKey) {
	decoded := map[int32]*generator.Event{}
	ev := func(i int32) *generator.Event {
		if e, ok := decoded[i]; ok {
			return e
		}
		e := &generator.Event{}
		json.Unmarshal(l.raw(&l.recs[i]), e)
		decoded[i] = e
		return e
	}
	slices.SortStableFunc(list, func(a, b int32) int {
		for _, k := range keys {
			c := l.compare(a, b, k.Field, ev)
			if k.Desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
}

func (l *Log) compare(a, b int32, field string, ev func(int32) *generator.Event) int {
	ra, rb := &l.recs[a], &l.recs[b]
	switch field {
	case "id":
		return cmp.Compare(ra.id, rb.id)
	case "timestamp":
		return cmp.Compare(ra.ts, rb.ts)
	case "source":
		return cmp.Compare(ra.src, rb.src)
	case "severity":
		return cmp.Compare(ra.sev, rb.sev)
	case "type":
		return cmp.Compare(ra.typ, rb.typ)
	case "user":
		return cmp.Compare(ra.user, rb.user)
	case "alert":
		return cmp.Compare(boolInt(ra.alert), boolInt(rb.alert))
	}
	str := func(e *generator.Event) string {
		switch field {
		case "organisation":
			return e.Organisation.Name
		case "endpoint", "tags", "ip_address":
			if e.Endpoint == nil {
				return ""
			}
			switch field {
			case "endpoint":
				return e.Endpoint.Name
			case "tags":
				if e.Endpoint.Tags != nil {
					return *e.Endpoint.Tags
				}
				return ""
			}
			return e.Endpoint.IPAddress
		case "iccid":
			if e.SIM != nil {
				return e.SIM.ICCID
			}
		case "imsi":
			if e.IMSI != nil {
				return e.IMSI.IMSI
			}
		}
		return ""
	}
	return strings.Compare(str(ev(a)), str(ev(b)))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
