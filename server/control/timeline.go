package control

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
	"strconv"

	"github.com/emnify-mock/emnify-mock/server/internal/wire"
)

// The timeline is the event log as a page a person reads in a browser,
// newest first, for watching a running serve (with --live or a played
// scenario) or finding what happened to one SIM. Filters are links.

const (
	timelineRows = 200
	timelineMax  = 5000
)

type timelineRow struct {
	Pos         int
	Timestamp   string `json:"timestamp"`
	ID          int64  `json:"id"`
	Description string `json:"description"`
	Type        struct {
		ID          int    `json:"id"`
		Description string `json:"description"`
	} `json:"event_type"`
	Source struct {
		Description string `json:"description"`
	} `json:"event_source"`
	Org struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	} `json:"organisation"`
	User *struct {
		Username string `json:"username"`
	} `json:"user"`
	Endpoint *struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	} `json:"endpoint"`
	SIM *struct {
		ICCID string `json:"iccid"`
	} `json:"sim"`
	// A migration names its SIMs in its detail, not in sim.
	Detail struct {
		SIMs []struct {
			ICCID string `json:"iccid"`
		} `json:"sims"`
	} `json:"detail"`
}

// handleMockTimeline renders the newest events: ?type=N, ?iccid=…,
// ?endpoint=N and ?organisation=N filter, ?limit=N (default 200) says how
// many, ?before=N starts below log position N (the "older" link),
// ?refresh=S reloads the page every S seconds.
func (c *control) timeline(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	num := func(key string, def int) (int, bool) {
		if q.Get(key) == "" {
			return def, true
		}
		n, err := strconv.Atoi(q.Get(key))
		return n, err == nil && n >= 0
	}
	typ, ok1 := num("type", 0)
	ep, ok2 := num("endpoint", 0)
	org, ok3 := num("organisation", 0)
	limit, ok4 := num("limit", timelineRows)
	refresh, ok5 := num("refresh", 0)
	total := c.st.Log().Len()
	before, ok6 := num("before", total)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 {
		wire.WriteError(w, wire.BadRequest("type, endpoint, organisation, limit, before and refresh are whole numbers"))
		return
	}
	limit = min(max(limit, 1), timelineMax)
	iccid := q.Get("iccid")
	var rows []timelineRow
	// Newest first: read the log backwards in chunks.
	for end := min(total, before); end > 0 && len(rows) < limit; end -= 4096 {
		start := max(0, end-4096)
		entries, _ := c.st.Log().Entries(start, end-start)
		for i := len(entries) - 1; i >= 0 && len(rows) < limit; i-- {
			e := entries[i]
			if (typ != 0 && e.Type != typ) || (org != 0 && e.Org != int64(org)) || (iccid != "" && !bytes.Contains(e.JSON, []byte(`"iccid":"`+iccid+`"`))) {
				continue
			}
			var row timelineRow
			if json.Unmarshal(e.JSON, &row) != nil || (ep != 0 && (row.Endpoint == nil || row.Endpoint.ID != int64(ep))) {
				continue
			}
			row.Pos = e.Pos
			rows = append(rows, row)
		}
	}
	older := ""
	if len(rows) == limit && rows[len(rows)-1].Pos > 0 {
		next := r.URL.Query()
		next.Set("before", strconv.Itoa(int(rows[len(rows)-1].Pos)))
		next.Del("refresh")
		older = "?" + next.Encode()
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	timelinePage.Execute(w, map[string]any{"Rows": rows, "Total": total, "Refresh": refresh, "Older": older,
		"Filtered": typ != 0 || ep != 0 || org != 0 || iccid != ""})
}

var timelinePage = template.Must(template.New("timeline").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
{{if .Refresh}}<meta http-equiv="refresh" content="{{.Refresh}}">{{end}}
<title>emnify-mock timeline</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#111827}
h1{font-size:20px;margin:0 0 4px}p{color:#6b7280;margin:0 0 16px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e5e7eb;vertical-align:top}
th{font-weight:600;background:#f9fafb}td.t{white-space:nowrap;font-variant-numeric:tabular-nums}a{color:#2563eb;text-decoration:none}
.muted{color:#9ca3af}
</style></head><body>
<h1>Event log</h1>
<p>{{len .Rows}} shown, newest first, of {{.Total}} events{{if .Filtered}} · <a href="?">all events</a>{{end}} · as NDJSON: <a href="/mock/events">/mock/events</a>{{if not .Refresh}} · <a href="?refresh=2">refresh every 2 s</a>{{end}}</p>
<table><thead><tr><th>#</th><th>timestamp</th><th>type</th><th>description</th><th>SIM</th><th>endpoint</th><th>by</th><th>workspace</th></tr></thead><tbody>
{{range .Rows}}<tr><td class="muted">{{.Pos}}</td><td class="t">{{.Timestamp}}</td><td><a href="?type={{.Type.ID}}">{{.Type.ID}} {{.Type.Description}}</a></td><td>{{.Description}}</td>
<td>{{with .SIM}}<a href="?iccid={{.ICCID}}">{{.ICCID}}</a>{{else}}{{range $i, $s := .Detail.SIMs}}{{if $i}}<br>{{end}}<a href="?iccid={{$s.ICCID}}">{{$s.ICCID}}</a>{{end}}{{end}}</td><td>{{with .Endpoint}}<a href="?endpoint={{.ID}}">{{.Name}}</a>{{end}}</td>
<td>{{with .User}}{{.Username}}{{else}}<span class="muted">{{.Source.Description}}</span>{{end}}</td><td><a href="?organisation={{.Org.ID}}">{{.Org.Name}}</a></td></tr>
{{else}}<tr><td colspan="8" class="muted">no events</td></tr>{{end}}
</tbody></table>{{if .Older}}<p><a href="{{.Older}}">older events</a></p>{{end}}</body></html>
`))
