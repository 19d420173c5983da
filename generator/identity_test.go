package generator_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/emnify-mock/emnify-mock/generator"
)

func TestLuhn(t *testing.T) {
	for _, tc := range []struct{ iccid, withLuhn string }{
		{"8988303000006738593", "89883030000067385937"}, // recorded pair
		{"8988303000008013931", "89883030000080139311"}, // docs example 12
	} {
		if got := generator.WithLuhn(tc.iccid); got != tc.withLuhn {
			t.Errorf("WithLuhn(%s) = %s, want %s", tc.iccid, got, tc.withLuhn)
		}
		if !generator.LuhnValid(tc.withLuhn) {
			t.Errorf("LuhnValid(%s) = false", tc.withLuhn)
		}
	}
	for _, bad := range []string{"89883030000067385936", "", "7", "8988303x00006738593"} {
		if generator.LuhnValid(bad) {
			t.Errorf("LuhnValid(%q) = true", bad)
		}
	}
}

// TestIdentities_MillionSIMsAreUnique makes 1,000,000 SIMs the way the
// platform does (in batches) and 1,000,000 IMEIs, and checks every format
// and that no number repeats.
func TestIdentities_MillionSIMsAreUnique(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000,000 SIMs")
	}
	const n = 1_000_000
	w := mustWorld(t, 99)
	iccids := make(map[string]struct{}, n)
	imsis := make(map[string]struct{}, n)
	imeis := make(map[string]struct{}, n)
	simIDs := make(map[int64]struct{}, n)
	for made := 0; made < n; {
		b, err := w.p.NewBatch(w.w1, min(1000, n-made))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range b.SIMs {
			if len(s.ICCID) != 19 || !strings.HasPrefix(s.ICCID, generator.ICCIDPrefix) || !digits(s.ICCID) {
				t.Fatalf("ICCID %q: want 19 digits starting %s", s.ICCID, generator.ICCIDPrefix)
			}
			if l := s.ICCIDWithLuhn(); len(l) != 20 || !generator.LuhnValid(l) || l[:19] != s.ICCID {
				t.Fatalf("ICCID with Luhn %q of %q", l, s.ICCID)
			}
			if im := s.IMSI.IMSI; len(im) != 15 || !digits(im) || !(strings.HasPrefix(im, "295050") || strings.HasPrefix(im, "901430")) {
				t.Fatalf("IMSI %q: want 15 digits on 295050 or 901430", im)
			}
			if !s.IMSI.ImportDate.After(s.ProductionDate) || !s.ProductionDate.Before(t0) {
				t.Fatalf("dates: produced %s, imported %s, now %s", s.ProductionDate, s.IMSI.ImportDate, t0)
			}
			iccids[s.ICCID] = struct{}{}
			imsis[s.IMSI.IMSI] = struct{}{}
			simIDs[s.ID] = struct{}{}
			imei := w.p.IDs.IMEISV()
			if len(imei) != 16 || !digits(imei) {
				t.Fatalf("IMEISV %q: want 16 digits", imei)
			}
			imeis[imei[:14]] = struct{}{} // TAC + serial identify the device
		}
		made += len(b.SIMs)
	}
	for name, got := range map[string]int{"ICCID": len(iccids), "IMSI": len(imsis), "IMEI": len(imeis), "SIM id": len(simIDs)} {
		if got != n {
			t.Errorf("%d distinct %ss among %d", got, name, n)
		}
	}
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

func TestIdentities_Names(t *testing.T) {
	w := mustWorld(t, 5)
	u := w.w1.Users[0]
	if !strings.Contains(u.Name, " ") || !strings.Contains(u.Username, "@") || strings.ContainsAny(u.Username, " ") {
		t.Errorf("user %q <%s>: want a full name and an e-mail", u.Name, u.Username)
	}
	ep := w.endpoint(t, nil, generator.EndpointEnabled, false)
	if fields := strings.Fields(ep.Name); len(fields) < 2 || !digits(fields[len(fields)-1]) {
		t.Errorf("device name %q: want a kind and a number", ep.Name)
	}
}

func TestIPSpace_AllocatesInOrderAndReuses(t *testing.T) {
	s, err := generator.NewIPSpace(1, netip.MustParsePrefix("10.191.216.64/29"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 6 {
		a, err := s.Allocate()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, a.String())
	}
	if want := "10.191.216.65 10.191.216.66 10.191.216.67 10.191.216.68 10.191.216.69 10.191.216.70"; strings.Join(got, " ") != want {
		t.Fatalf("got %s, want %s", strings.Join(got, " "), want)
	}
	if _, err := s.Allocate(); err == nil {
		t.Fatal("a full /29 handed out a seventh address")
	}
	s.Release(netip.MustParseAddr("10.191.216.67"))
	if a, err := s.Allocate(); err != nil || a.String() != "10.191.216.67" {
		t.Fatalf("after release got %v, %v; want 10.191.216.67", a, err)
	}
	if s.Take(netip.MustParseAddr("10.191.216.71")) {
		t.Error("took the broadcast address")
	}
}

func TestIPSpace_EndpointsGetAddressesFromTheirWorkspace(t *testing.T) {
	w := mustWorld(t, 8)
	a := w.endpoint(t, nil, generator.EndpointEnabled, false)
	b := w.endpoint(t, nil, generator.EndpointEnabled, false)
	if !w.w1.IPSpace.Prefix.Contains(a.IP) || b.IP != a.IP.Next() {
		t.Errorf("addresses %s, %s: want consecutive in %s", a.IP, b.IP, w.w1.IPSpace.Prefix)
	}
}
