package generator

import (
	"errors"
	"fmt"
	"net/netip"
)

// ErrIPSpaceFull is returned when an IP address space has no free address.
var ErrIPSpaceFull = errors.New("ip address space is full")

// IPSpace is an organisation's private IPv4 address space, from which every
// endpoint gets a static address. Addresses are handed out in order (.1, .2,
// ... after the network address, as recorded) and reused after release; the
// network and broadcast addresses are never used.
type IPSpace struct {
	ID     int64
	Prefix netip.Prefix

	used   []uint64 // bitmap over host offsets
	size   uint32
	cursor uint32
	free   int
}

// NewIPSpace returns an empty address space; prefix must be IPv4 with at
// most 24 host bits.
func NewIPSpace(id int64, prefix netip.Prefix) (*IPSpace, error) {
	if !prefix.Addr().Is4() || prefix.Bits() < 8 || prefix.Bits() > 30 {
		return nil, fmt.Errorf("ip address space %s: want an IPv4 prefix from /8 to /30", prefix)
	}
	prefix = prefix.Masked()
	size := uint32(1) << (32 - prefix.Bits())
	return &IPSpace{ID: id, Prefix: prefix, used: make([]uint64, (size+63)/64), size: size, cursor: 1, free: int(size) - 2}, nil
}

// Free returns how many addresses are left.
func (s *IPSpace) Free() int { return s.free }

// Allocate returns the next free address after the last one handed out.
func (s *IPSpace) Allocate() (netip.Addr, error) {
	if s.free == 0 {
		return netip.Addr{}, fmt.Errorf("%s: %w", s.Prefix, ErrIPSpaceFull)
	}
	for off := s.cursor; ; off++ {
		if off >= s.size-1 {
			off = 1
		}
		if s.used[off/64]&(1<<(off%64)) == 0 {
			s.used[off/64] |= 1 << (off % 64)
			s.cursor = off + 1
			s.free--
			return s.addr(off), nil
		}
	}
}

// Release returns an address to the space and reports whether it was in
// use. Releasing an address outside the space or not in use does nothing.
func (s *IPSpace) Release(a netip.Addr) bool {
	if !s.Prefix.Contains(a) {
		return false
	}
	off := ipv4(a) - ipv4(s.Prefix.Addr())
	if off == 0 || off >= s.size-1 || s.used[off/64]&(1<<(off%64)) == 0 {
		return false
	}
	s.used[off/64] &^= 1 << (off % 64)
	s.free++
	return true
}

func (s *IPSpace) addr(off uint32) netip.Addr {
	n := ipv4(s.Prefix.Addr()) + off
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

func ipv4(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// Take marks a chosen address as used; it reports false when the address
// is in use, outside the space, or the network or broadcast address.
func (s *IPSpace) Take(a netip.Addr) bool {
	if !a.Is4() || !s.Prefix.Contains(a) {
		return false
	}
	off := ipv4(a) - ipv4(s.Prefix.Addr())
	if off == 0 || off >= s.size-1 || s.used[off/64]&(1<<(off%64)) != 0 {
		return false
	}
	s.used[off/64] |= 1 << (off % 64)
	s.free--
	return true
}
