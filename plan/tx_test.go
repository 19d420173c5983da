package plan_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/emnify-mock/emnify-mock/generator"
	"github.com/emnify-mock/emnify-mock/plan"
)

// dump writes everything a change can touch that the package shows.
func dump(w *plan.World) string {
	var b strings.Builder
	for _, ws := range w.Platform.Workspaces() {
		fmt.Fprintf(&b, "ws %d %s users %d tokens %d free IPs %d\n", ws.ID, ws.Name, len(ws.Users), len(ws.Tokens), ws.IPSpace.Free())
		for _, s := range ws.SIMs() {
			ep := int64(0)
			if s.Endpoint != nil {
				ep = s.Endpoint.ID
			}
			fmt.Fprintf(&b, " sim %d %s %s act %s ep %d ws %d test %d/%d\n", s.ID, s.ICCID, s.Status, s.ActivationDate, ep, s.Workspace.ID, s.TestBytes, s.TestSMS)
		}
		for _, e := range ws.Endpoints() {
			sim := int64(0)
			if e.SIM != nil {
				sim = e.SIM.ID
			}
			fmt.Fprintf(&b, " ep %d %q %v %s %s %s sim %d ws %d %s %s\n", e.ID, e.Name, e.Tags, e.IMEI, e.IP, e.Status, sim, e.Workspace.ID, e.Created, e.LastUpdated)
		}
		for _, bt := range ws.Batches() {
			fmt.Fprintf(&b, " batch %s %v %d\n", bt.BIC, bt.Registered, len(bt.SIMs))
		}
	}
	ws, groups := w.Names()
	fmt.Fprintln(&b, len(ws), len(groups))
	return b.String()
}

// TestDo_AllOrNothing drives random composite changes, some refused
// halfway: a refused change leaves the world as it was, down to the next
// ids, random draws and stamps (the next change makes the same bytes as on
// a copy that never saw the refused one); a dry run's verdict is Do's.
func TestDo_AllOrNothing(t *testing.T) {
	w := plan.NewWorld(t0, 5)
	if _, err := w.Run(churnPlan(), nil); err != nil {
		t.Fatal(err)
	}
	p := w.Platform
	rng := rand.New(rand.NewPCG(5, 6))
	user := generator.ByUser(w.Workspaces["w"].Users[0])
	// op makes 1–4 random actions; the last may be refused.
	op := func(seed uint64) func() ([]generator.Event, error) {
		return func() ([]generator.Event, error) {
			r := rand.New(rand.NewPCG(seed, seed))
			var all []generator.Event
			for range 1 + r.IntN(4) {
				wss := p.Workspaces()
				ws := wss[r.IntN(len(wss))]
				var events []generator.Event
				var err error
				sims, eps := ws.SIMs(), ws.Endpoints()
				switch k := r.IntN(8); {
				case k == 7 && len(sims) > 0 && len(eps) > 0:
					events, err = p.AssignSIM(user, eps[r.IntN(len(eps))], sims[r.IntN(len(sims))])
				case k == 0 && len(sims) > 0:
					events, err = p.SuspendSIM(user, sims[r.IntN(len(sims))])
				case k == 1 && len(sims) > 0:
					events, err = p.ActivateSIM(user, sims[r.IntN(len(sims))])
				case k == 2 && len(eps) > 0:
					free := (*generator.SIM)(nil)
					events, err = p.PatchEndpoint(user, eps[r.IntN(len(eps))], generator.EndpointPatch{SIM: &free})
				case k == 3 && len(sims) > 0:
					_, events, err = p.CreateEndpoint(user, ws, generator.EndpointSpec{SIM: sims[r.IntN(len(sims))], ActivateSIM: true})
				case k == 4 && len(sims) > 0:
					events, err = p.DeleteSIM(user, sims[r.IntN(len(sims))])
				case k == 5 && len(sims) > 1:
					other := wss[r.IntN(len(wss))]
					events, err = p.MigrateSIMs(user, []*generator.SIM{sims[0], sims[len(sims)-1]}, other, r.IntN(2) == 0)
				case k == 6:
					for _, b := range ws.Batches() {
						events, err = p.RegisterBatch(user, ws, b, generator.SIMActivated)
						break
					}
				}
				all = append(all, events...)
				if err != nil {
					return all, err
				}
			}
			return all, nil
		}
	}
	refused := 0
	for i := range 400 {
		seed := rng.Uint64()
		before := dump(w)
		dryEvents, dryErr := p.DryRun(op(seed))
		if dump(w) != before {
			t.Fatalf("op %d: a dry run changed the world", i)
		}
		copy := w.Clone()
		events, err := p.Do(op(seed))
		if (err == nil) != (dryErr == nil) || (err == nil && len(events) != len(dryEvents)) {
			t.Fatalf("op %d: dry run said %v (%d events), the change %v (%d events)", i, dryErr, len(dryEvents), err, len(events))
		}
		if err == nil {
			continue
		}
		refused++
		if after := dump(w); after != before {
			t.Fatalf("op %d refused (%v) but changed the world:\n%s", i, err, diff(before, after))
		}
		// The next change makes the same bytes as on the copy.
		next := func(on *plan.World) string {
			var b bytes.Buffer
			s := on.Platform.Workspaces()[0].SIMs()
			_, ev, err := on.Platform.CreateEndpoint(user, on.Platform.Workspaces()[0], generator.EndpointSpec{IMEI: on.Platform.IDs.IMEISV()})
			fmt.Fprint(&b, err, len(s))
			for _, e := range ev {
				b.Write(e.AppendJSON(nil))
			}
			return b.String() + dump(on)
		}
		if a, b := next(copy), next(w); a != b {
			t.Fatalf("op %d: after the refused change the world goes another way:\n%s", i, diff(a, b))
		}
	}
	if refused < 50 {
		t.Fatalf("only %d of 400 changes were refused: the test proves little", refused)
	}
}

func diff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("%d lines, %d lines", len(al), len(bl))
}
