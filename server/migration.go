package server

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/server/internal/wire"
)

// maxMigration is the most SIMs one migration may move (emnify docs).
const maxMigration = 500

type migrationSIM struct {
	ID              int64            `json:"id"`
	ICCID           string           `json:"iccid"`
	ICCIDWithLuhn   string           `json:"iccid_with_luhn"`
	Endpoint        *idName          `json:"endpoint"`
	Status          generator.Lookup `json:"status"`
	SourceWorkspace idName           `json:"source_workspace"`
}

// migrationConflict is the 409 body of a migration (emnify docs): its own
// shape, not the usual error body.
type migrationConflict struct {
	StatusCode int    `json:"status_code"`
	Message    string `json:"message"`
	Errors     []struct {
		Code    int            `json:"error_code"`
		Message string         `json:"message"`
		SIMs    []migrationSIM `json:"sims"`
	} `json:"errors"`
}

// handleMigration moves SIMs to another workspace. dry_run (default true)
// only reports what would happen. It needs a user: application tokens get
// 403, as user credentials are required on the platform.
func (s *Server) handleMigration(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Target *struct {
			ID int64 `json:"id"`
		} `json:"target_workspace"`
		SIMs []struct {
			ID int64 `json:"id"`
		} `json:"sims"`
		ICCIDs     []string `json:"iccids"`
		ICCIDRange *struct {
			Start string `json:"start"`
			End   string `json:"end"`
		} `json:"iccid_range"`
		DryRun     *bool              `json:"dry_run"`
		AutoDetach bool               `json:"auto_detach_devices"`
		Allowed    []generator.Lookup `json:"allowed_sim_statuses"`
	}
	if apiErr := decode(r, &body); apiErr != nil {
		wire.WriteError(w, apiErr)
		return
	}
	c := callerOf(r)
	if c.user == nil {
		wire.WriteError(w, &wire.Error{Status: http.StatusForbidden, Code: 1104, Token: "Forbidden", Message: "SIM migration needs user credentials, not an application token"})
		return
	}
	selectors := 0
	for _, set := range []bool{body.SIMs != nil, body.ICCIDs != nil, body.ICCIDRange != nil} {
		if set {
			selectors++
		}
	}
	switch {
	case body.Target == nil:
		wire.WriteError(w, wire.BadRequest("target_workspace is required"))
		return
	case selectors != 1:
		wire.WriteError(w, wire.BadRequest("exactly one of sims, iccids or iccid_range is required"))
		return
	}
	dryRun := body.DryRun == nil || *body.DryRun
	var apiErr *wire.Error
	var report []migrationSIM
	var target *generator.Workspace
	var allowed []generator.SIMStatus
	for _, l := range body.Allowed {
		allowed = append(allowed, generator.SIMStatus(l.ID))
	}
	if body.Allowed != nil && allowed == nil {
		allowed = []generator.SIMStatus{} // present and empty: no status allowed
	}
	// A dry run is the migration, undone: its verdict is the real one's.
	s.mu.Lock()
	defer s.mu.Unlock()
	run := s.world.Platform.Do
	if dryRun {
		run = s.world.Platform.DryRun
	}
	events, err := run(func() ([]generator.Event, error) {
		p := s.world.Platform
		for _, ws := range p.Workspaces() {
			if ws.ID == body.Target.ID && ws != c.ws {
				target = ws
			}
		}
		if target == nil {
			apiErr = wire.NotFound("Workspace", strconv.FormatInt(body.Target.ID, 10))
			return nil, apiErr
		}
		var sims []*generator.SIM
		sims, apiErr = s.selectSIMs(c.ws, body.SIMs, body.ICCIDs, body.ICCIDRange)
		if apiErr != nil {
			return nil, apiErr
		}
		for _, sim := range sims {
			report = append(report, s.migrationSIM(sim))
		}
		return p.Migrate(c.actor(), generator.Migration{SIMs: sims, Target: target, AutoDetach: body.AutoDetach, Allowed: allowed})
	})
	var refused *generator.MigrationRefused
	if errors.As(err, &refused) {
		wire.WriteJSON(w, http.StatusConflict, wire.JSON, s.migrationConflict(refused))
		return
	}
	if err == nil && !dryRun {
		s.log.Append(events...)
	}
	switch {
	case apiErr != nil:
		wire.WriteError(w, apiErr)
	case err != nil:
		wire.WriteError(w, refusal(err))
	default:
		allowed := body.Allowed
		if allowed == nil {
			allowed = []generator.Lookup{}
		}
		wire.WriteJSON(w, http.StatusOK, wire.JSON, struct {
			SIMCount   int                `json:"sim_count"`
			DryRun     bool               `json:"dry_run"`
			Allowed    []generator.Lookup `json:"allowed_sim_statuses"`
			Target     idName             `json:"target_workspace"`
			AutoDetach bool               `json:"auto_detach_devices"`
			SIMs       []migrationSIM     `json:"sims"`
		}{len(report), dryRun, allowed, idName{target.ID, target.Name}, body.AutoDetach, report})
	}
}

// migrationSIM describes a SIM as the migration answers name it, as it
// is before the migration.
func (s *Server) migrationSIM(sim *generator.SIM) migrationSIM {
	m := migrationSIM{ID: sim.ID, ICCID: sim.ICCID, ICCIDWithLuhn: sim.ICCIDWithLuhn(), Status: sim.Status.Lookup(), SourceWorkspace: idName{sim.Workspace.ID, sim.Workspace.Name}}
	if sim.Endpoint != nil {
		m.Endpoint = &idName{sim.Endpoint.ID, sim.Endpoint.Name}
	}
	return m
}

// migrationConflict is the 409 body naming every SIM that refused the
// migration.
func (s *Server) migrationConflict(r *generator.MigrationRefused) *migrationConflict {
	c := &migrationConflict{StatusCode: http.StatusConflict, Message: "SIM migration is not possible"}
	add := func(code int, msg string, sims []*generator.SIM) {
		if len(sims) == 0 {
			return
		}
		var list []migrationSIM
		for _, sim := range sims {
			list = append(list, s.migrationSIM(sim))
		}
		c.Errors = append(c.Errors, struct {
			Code    int            `json:"error_code"`
			Message string         `json:"message"`
			SIMs    []migrationSIM `json:"sims"`
		}{code, msg, list})
	}
	add(1502, "SIMs are attached to devices; set auto_detach_devices to detach them", r.Attached)
	add(1503, "SIMs are in a status that allowed_sim_statuses excludes", r.Disallowed)
	return c
}

// selectSIMs resolves the migration's one selector to SIMs of the
// workspace. Call with the lock held.
func (s *Server) selectSIMs(ws *generator.Workspace, ids []struct {
	ID int64 `json:"id"`
}, iccids []string, rng *struct {
	Start string `json:"start"`
	End   string `json:"end"`
}) ([]*generator.SIM, *wire.Error) {
	var sims []*generator.SIM
	byICCID := map[string]*generator.SIM{}
	for _, sim := range ws.SIMs() {
		byICCID[sim.ICCID] = sim
	}
	valid := func(iccid string) bool {
		_, err := strconv.ParseUint(iccid, 10, 64)
		return len(iccid) == 19 && err == nil
	}
	switch {
	case ids != nil:
		for _, ref := range ids {
			sim := s.world.Platform.SIM(ref.ID)
			if sim == nil || sim.Workspace != ws {
				return nil, wire.NotFound("SIM", strconv.FormatInt(ref.ID, 10))
			}
			sims = append(sims, sim)
		}
	case iccids != nil:
		for _, iccid := range iccids {
			if !valid(iccid) {
				return nil, wire.BadRequest(fmt.Sprintf("ICCID %q must have 19 digits", iccid))
			}
			sim := byICCID[iccid]
			if sim == nil {
				return nil, wire.NotFound("SIM with ICCID", iccid)
			}
			sims = append(sims, sim)
		}
	default:
		if !valid(rng.Start) || !valid(rng.End) || rng.End < rng.Start {
			return nil, wire.BadRequest("iccid_range needs two 19-digit ICCIDs, start not after end")
		}
		for _, sim := range ws.SIMs() {
			if sim.ICCID >= rng.Start && sim.ICCID <= rng.End {
				sims = append(sims, sim)
			}
		}
	}
	switch {
	case len(sims) == 0:
		return nil, wire.BadRequest("no SIMs selected")
	case len(sims) > maxMigration:
		return nil, wire.BadRequest(fmt.Sprintf("at most %d SIMs per migration, got %d", maxMigration, len(sims)))
	}
	return sims, nil
}
