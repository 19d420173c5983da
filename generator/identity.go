package generator

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/brianvoe/gofakeit/v7"
)

// ICCIDPrefix starts every emnify ICCID: 89 telecom, 883 international,
// 03 emnify (emnify-api.md §6).
const ICCIDPrefix = "8988303"

// IMSI prefixes of emnify's networks, seen in recorded traffic and docs.
var imsiPrefixes = [...]string{"295050", "901430"}

// msisdnPrefix is the +423 Liechtenstein range seen on emnify SIMs.
const msisdnPrefix = "423663"

// tacs are type allocation codes of the IMEIs we make: the observed one
// (35546311) and others under the real reporting bodies 35 and 86.
var tacs = [...]string{"35546311", "86695803", "35271311", "86763202", "35925406", "86186204", "35332510", "86437001"}

// imeiSpace is how many distinct IMEIs the TACs give.
const imeiSpace = uint64(len(tacs)) * 1_000_000

// deviceKinds name devices the way fleets do ("GPS tracker 3").
var deviceKinds = [...]string{
	"Cold-chain sensor", "GPS tracker", "Smart meter", "Parking sensor", "Asset tag",
	"Fleet telematics unit", "Vending machine", "Water meter", "Air quality monitor",
	"EV charger", "Pallet tracker", "Door sensor",
}

// Identities hands out emnify identifiers and names. Numbers that must be
// unique (ICCID, IMSI, MSISDN, IMEI, ids) come from counters that start at a
// seeded random point, so they never repeat within one Identities and look
// like consecutive production runs, as real batches do. Everything random
// comes from one seeded gofakeit instance.
type Identities struct {
	fake *gofakeit.Faker

	iccid, msisdn uint64
	imsi          [len(imsiPrefixes)]uint64
	imei          uint64 // count of IMEIs made
	imeiMul       uint64 // k = (n*imeiMul + imeiAdd) mod (TACs*1e6): a bijection,
	imeiAdd       uint64 // so TAC k/1e6 and serial k%1e6 never repeat

	simID, imsiID, endpointID, orgID, userID, batchID, tokenID, spaceID, profileID int64
	smsID                                                                          int64
}

// NewIdentities returns identities drawn from the seed.
func NewIdentities(seed uint64) *Identities {
	f := gofakeit.NewFaker(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15), false)
	id := &Identities{fake: f}
	id.iccid = uint64(f.IntN(90_000_000)) * 10 // "00000xxxxxxx": low account numbers
	id.msisdn = uint64(900_000_000 + f.IntN(50_000_000))
	for i := range id.imsi {
		id.imsi[i] = uint64(900_000_000 + f.IntN(50_000_000))
	}
	id.imeiMul = []uint64{7919, 104729, 15485863, 32452843}[f.IntN(4)] // primes, coprime with 8*10^6
	id.imeiAdd = uint64(f.IntN(int(imeiSpace)))
	// Magnitudes as in recorded traffic (emnify-api.md §6).
	id.simID = int64(250_000 + f.IntN(3_500_000))
	id.imsiID = int64(1_000 + f.IntN(900_000))
	id.endpointID = int64(11_000_000 + f.IntN(1_500_000))
	id.orgID = int64(10_000 + f.IntN(80_000))
	id.userID = int64(100_000 + f.IntN(400_000))
	id.batchID = int64(10_000 + f.IntN(80_000))
	id.tokenID = int64(1_000 + f.IntN(8_000))
	id.spaceID = int64(10_000 + f.IntN(80_000))
	id.profileID = int64(400_000 + f.IntN(150_000))
	id.smsID = 19_649_000 // recorded magnitude; not drawn, so the draws above stay as they were
	return id
}

// Faker returns the seeded faker, for callers that need more randomness
// from the same seed.
func (id *Identities) Faker() *gofakeit.Faker { return id.fake }

// ICCID returns the next 19-digit ICCID (without Luhn digit).
func (id *Identities) ICCID() string {
	id.iccid++
	return padded(ICCIDPrefix, id.iccid, 12, "")
}

// IMSI returns the next 15-digit IMSI on one of emnify's networks.
func (id *Identities) IMSI() string {
	n := 0
	if id.fake.IntN(5) == 0 {
		n = 1
	}
	id.imsi[n]++
	return padded(imsiPrefixes[n], id.imsi[n], 9, "")
}

// MSISDN returns the next 15-digit MSISDN.
func (id *Identities) MSISDN() string {
	id.msisdn++
	return padded(msisdnPrefix, id.msisdn, 9, "")
}

// IMEISV returns the next 16-digit IMEISV: TAC, serial, software version.
func (id *Identities) IMEISV() string {
	k := (id.imei*id.imeiMul + id.imeiAdd) % imeiSpace
	id.imei++
	return padded(tacs[k/1_000_000], k%1_000_000, 6, padded("", uint64(1+id.fake.IntN(19)), 2, ""))
}

// SIMID returns the next SIM id.
func (id *Identities) SIMID() int64 { id.simID++; return id.simID }

// IMSIID returns the next IMSI id.
func (id *Identities) IMSIID() int64 { id.imsiID++; return id.imsiID }

// EndpointID returns the next endpoint id.
func (id *Identities) EndpointID() int64 { id.endpointID++; return id.endpointID }

// OrgID returns the next organisation id; organisations are sparse.
func (id *Identities) OrgID() int64 { id.orgID += 1 + int64(id.fake.IntN(40)); return id.orgID }

// UserID returns the next user id.
func (id *Identities) UserID() int64 { id.userID += 1 + int64(id.fake.IntN(20)); return id.userID }

// BatchID returns the next SIM batch id.
func (id *Identities) BatchID() int64 { id.batchID++; return id.batchID }

// TokenID returns the next application-token id.
func (id *Identities) TokenID() int64 { id.tokenID++; return id.tokenID }

// SMSID returns the next SMS id.
func (id *Identities) SMSID() int64 { id.smsID++; return id.smsID }

// SpaceID returns the next IP address space id.
func (id *Identities) SpaceID() int64 { id.spaceID++; return id.spaceID }

// ProfileID returns the next service or tariff profile id.
func (id *Identities) ProfileID() int64 {
	id.profileID += 1 + int64(id.fake.IntN(900))
	return id.profileID
}

// BIC returns a batch identification code as printed on a SIM pack. The
// format is not documented; this one is plausible (design.md).
func (id *Identities) BIC() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 0, 14)
	for i := range 12 {
		if i > 0 && i%4 == 0 {
			b = append(b, '-')
		}
		b = append(b, alphabet[id.fake.IntN(len(alphabet))])
	}
	return string(b)
}

// OrganisationName returns a company name.
func (id *Identities) OrganisationName() string { return id.fake.Company() }

// Person returns a full name and an e-mail username at the organisation's
// domain. An empty first name is made up.
func (id *Identities) Person(first, org string) (name, username string) {
	if first == "" {
		first = id.fake.FirstName()
	} else {
		first = strings.ToUpper(first[:1]) + first[1:]
	}
	last := id.fake.LastName()
	return first + " " + last, strings.ToLower(slug(first)+"."+slug(last)) + "@" + domain(org)
}

// DeviceKind returns a kind of device, such as "GPS tracker".
func (id *Identities) DeviceKind() string { return deviceKinds[id.fake.IntN(len(deviceKinds))] }

// ProductionDate returns an instant, whole seconds, two months to two and a
// half years before t: SIMs are made long before they are used.
func (id *Identities) ProductionDate(t time.Time) time.Time {
	back := time.Duration(60*24+id.fake.IntN(840*24)) * time.Hour
	back += time.Duration(id.fake.IntN(86400)) * time.Second
	return t.Add(-back).UTC().Truncate(time.Second)
}

// ImportDate returns when an IMSI was imported: minutes after production.
func (id *Identities) ImportDate(production time.Time) time.Time {
	return production.Add(time.Duration(60+id.fake.IntN(600)) * time.Second)
}

// Luhn returns the Luhn check digit for a string of digits.
func Luhn(digits string) byte {
	sum := 0
	double := true // the digit left of the check digit is doubled
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return byte('0' + (10-sum%10)%10)
}

// LuhnValid reports whether the last digit of s is the Luhn check digit of
// the rest.
func LuhnValid(s string) bool {
	if len(s) < 2 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return Luhn(s[:len(s)-1]) == s[len(s)-1]
}

// WithLuhn returns the 20-digit form of a 19-digit ICCID.
func WithLuhn(iccid string) string { return iccid + string(Luhn(iccid)) }

func slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "x"
	}
	return b.String()
}

func domain(org string) string {
	words := strings.Fields(org)
	if len(words) > 2 {
		words = words[:2]
	}
	return slug(strings.Join(words, "")) + ".example"
}

// padded is prefix, n in at least width digits (zero-padded, as %0*d)
// and suffix: fmt.Sprintf was most of what making an identity cost.
func padded(prefix string, n uint64, width int, suffix string) string {
	var buf [48]byte
	b := append(buf[:0], prefix...)
	var digits [20]byte
	d := strconv.AppendUint(digits[:0], n, 10)
	for i := len(d); i < width; i++ {
		b = append(b, '0')
	}
	return string(append(append(b, d...), suffix...))
}
