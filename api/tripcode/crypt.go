package tripcode

import "math/bits"

// Traditional DES-based crypt(3), the hash under classic tripcodes.
//
// crypto/des cannot be used: crypt's 12-bit salt swaps pairs of bits of the
// E expansion, so the round function is written out here. Bit positions in
// the tables below follow FIPS 46-3: 1-based, bit 1 being the most
// significant.

// cryptAlphabet is crypt's 6-bit encoding, also the salt alphabet.
const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Initial permutation; the final permutation is its inverse (fpTable).
var ipTable = [64]uint8{
	58, 50, 42, 34, 26, 18, 10, 2,
	60, 52, 44, 36, 28, 20, 12, 4,
	62, 54, 46, 38, 30, 22, 14, 6,
	64, 56, 48, 40, 32, 24, 16, 8,
	57, 49, 41, 33, 25, 17, 9, 1,
	59, 51, 43, 35, 27, 19, 11, 3,
	61, 53, 45, 37, 29, 21, 13, 5,
	63, 55, 47, 39, 31, 23, 15, 7,
}

// Expansion of the 32-bit half block to 48 bits. Row k is six consecutive
// bits starting at 4k (cyclically), which feistel exploits with rotations;
// the table itself documents that and is checked against it in the tests.
var eTable = [48]uint8{
	32, 1, 2, 3, 4, 5,
	4, 5, 6, 7, 8, 9,
	8, 9, 10, 11, 12, 13,
	12, 13, 14, 15, 16, 17,
	16, 17, 18, 19, 20, 21,
	20, 21, 22, 23, 24, 25,
	24, 25, 26, 27, 28, 29,
	28, 29, 30, 31, 32, 1,
}

// Permutation of the S-box outputs.
var pTable = [32]uint8{
	16, 7, 20, 21, 29, 12, 28, 17,
	1, 15, 23, 26, 5, 18, 31, 10,
	2, 8, 24, 14, 32, 27, 3, 9,
	19, 13, 30, 6, 22, 11, 4, 25,
}

// S-boxes, each as four rows of sixteen columns.
var sBoxes = [8][64]uint8{
	{
		14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7,
		0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8,
		4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0,
		15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13,
	},
	{
		15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10,
		3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5,
		0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15,
		13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9,
	},
	{
		10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8,
		13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1,
		13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7,
		1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12,
	},
	{
		7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15,
		13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9,
		10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4,
		3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14,
	},
	{
		2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9,
		14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6,
		4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14,
		11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3,
	},
	{
		12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11,
		10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8,
		9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6,
		4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13,
	},
	{
		4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1,
		13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6,
		1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2,
		6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12,
	},
	{
		13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7,
		1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2,
		7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8,
		2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11,
	},
}

// Permuted choice 1: the 56 key bits (parity bits dropped) split into C and D.
var pc1Table = [56]uint8{
	57, 49, 41, 33, 25, 17, 9,
	1, 58, 50, 42, 34, 26, 18,
	10, 2, 59, 51, 43, 35, 27,
	19, 11, 3, 60, 52, 44, 36,
	63, 55, 47, 39, 31, 23, 15,
	7, 62, 54, 46, 38, 30, 22,
	14, 6, 61, 53, 45, 37, 29,
	21, 13, 5, 28, 20, 12, 4,
}

// Permuted choice 2: the 48-bit round key taken from the rotated C and D.
var pc2Table = [48]uint8{
	14, 17, 11, 24, 1, 5,
	3, 28, 15, 6, 21, 10,
	23, 19, 12, 4, 26, 8,
	16, 7, 27, 20, 13, 2,
	41, 52, 31, 37, 47, 55,
	30, 40, 51, 45, 33, 48,
	44, 49, 39, 56, 34, 53,
	46, 42, 50, 36, 29, 32,
}

// Left rotations of C and D before each round.
var keyShifts = [16]uint8{1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1}

// Tables derived once from the ones above and never written afterwards.
var (
	fpTable = invert(ipTable)
	// spBox[k][v] is P applied to S-box k's output for the 6-bit input v,
	// so a round is eight lookups ORed together.
	spBox = buildSPBox()
	// roundKeyBits[i][j] is the key bit (1..64) that lands in bit j+1 of
	// round i's subkey: PC1, the cumulative shifts and PC2 folded together.
	roundKeyBits = buildRoundKeyBits()
)

func invert(t [64]uint8) (inv [64]uint8) {
	for i, src := range t {
		inv[src-1] = uint8(i + 1)
	}
	return inv
}

func buildSPBox() (sp [8][64]uint32) {
	for k := range sp {
		for v := range 64 {
			// The outer bits pick the row, the inner four the column.
			row := v>>4&2 | v&1
			col := v >> 1 & 0xF
			s := uint64(sBoxes[k][row*16+col]) << (28 - 4*k)
			sp[k][v] = uint32(permute(s, 32, pTable[:]))
		}
	}
	return sp
}

func buildRoundKeyBits() (kb [16][48]uint8) {
	shift := 0
	for i := range kb {
		shift += int(keyShifts[i])
		for j, cd := range pc2Table {
			// cd is a position in the rotated C (1..28) or D (29..56)
			// register; find where it sat before the rotations.
			half, pos := (int(cd)-1)/28, (int(cd)-1)%28
			src := half*28 + (pos+shift)%28
			kb[i][j] = pc1Table[src]
		}
	}
	return kb
}

// permute returns the len(table)-bit value whose bit i+1 is bit table[i]
// of the width-bit value in.
func permute(in uint64, width int, table []uint8) uint64 {
	var out uint64
	for _, src := range table {
		out = out<<1 | in>>(width-int(src))&1
	}
	return out
}

// schedule holds the sixteen 48-bit round keys, each as eight 6-bit groups
// lined up with the S-boxes.
type schedule [16][8]uint8

func newSchedule(key uint64) (ks schedule) {
	for i := range ks {
		for g := range 8 {
			var v uint8
			for _, src := range roundKeyBits[i][6*g : 6*g+6] {
				v = v<<1 | uint8(key>>(64-int(src))&1)
			}
			ks[i][g] = v
		}
	}
	return ks
}

// saltMasks turns a two-character salt into the E-expansion swap masks.
// Bit j of the first character swaps E outputs j and j+24 (groups 0 and 4),
// bit j of the second swaps 6+j and 30+j (groups 1 and 5); output j is the
// (j+1)th most significant bit of its group, hence the bit reversal.
func saltMasks(salt [2]byte) (m0, m1 uint8) {
	v0, v1 := saltValue(salt[0]), saltValue(salt[1])
	return bits.Reverse8(v0) >> 2, bits.Reverse8(v1) >> 2
}

// saltValue is the 6-bit value of a salt character, computed as Seventh
// Edition crypt.c does; it agrees with cryptAlphabet for every character in it.
func saltValue(c byte) uint8 {
	if c > 'Z' {
		c -= 6
	}
	if c > '9' {
		c -= 7
	}
	return (c - '.') & 0x3F
}

// feistel is the DES round function with the salted expansion.
func feistel(r uint32, k *[8]uint8, m0, m1 uint8) uint32 {
	// E-box group g is bits 4g..4g+5 of r (bit 0 meaning bit 32).
	e0 := uint8(bits.RotateLeft32(r, -1) >> 26)
	e1 := uint8(bits.RotateLeft32(r, 3) >> 26)
	e2 := uint8(bits.RotateLeft32(r, 7) >> 26)
	e3 := uint8(bits.RotateLeft32(r, 11) >> 26)
	e4 := uint8(bits.RotateLeft32(r, 15) >> 26)
	e5 := uint8(bits.RotateLeft32(r, 19) >> 26)
	e6 := uint8(bits.RotateLeft32(r, 23) >> 26)
	e7 := uint8(bits.RotateLeft32(r, 27) >> 26)
	t := (e0 ^ e4) & m0
	e0, e4 = e0^t, e4^t
	t = (e1 ^ e5) & m1
	e1, e5 = e1^t, e5^t
	// The &63s are no-ops that let the compiler drop bounds checks.
	return spBox[0][(e0^k[0])&63] | spBox[1][(e1^k[1])&63] |
		spBox[2][(e2^k[2])&63] | spBox[3][(e3^k[3])&63] |
		spBox[4][(e4^k[4])&63] | spBox[5][(e5^k[5])&63] |
		spBox[6][(e6^k[6])&63] | spBox[7][(e7^k[7])&63]
}

// encrypt applies salted DES to block n times in a row. FP followed by IP is
// the identity, so they are applied once at the ends instead of every pass.
func (ks *schedule) encrypt(block uint64, m0, m1 uint8, n int) uint64 {
	b := permute(block, 64, ipTable[:])
	l, r := uint32(b>>32), uint32(b)
	for range n {
		for i := 0; i < 16; i += 2 {
			l ^= feistel(r, &ks[i], m0, m1)
			r ^= feistel(l, &ks[i+1], m0, m1)
		}
		l, r = r, l // DES's final swap; the result is the next pass's input.
	}
	return permute(uint64(l)<<32|uint64(r), 64, fpTable[:])
}

// desCrypt is crypt(3) with a traditional two-character salt, which must come
// from cryptAlphabet. Like the C function it reads at most eight bytes of key,
// stops at a NUL, and uses only the low seven bits of each byte.
func desCrypt(key []byte, salt [2]byte) [13]byte {
	var k uint64
	for i := 0; i < 8 && i < len(key) && key[i] != 0; i++ {
		k |= uint64(key[i]<<1) << (56 - 8*i)
	}
	ks := newSchedule(k)
	m0, m1 := saltMasks(salt)
	sum := ks.encrypt(0, m0, m1, 25)

	var out [13]byte
	out[0], out[1] = salt[0], salt[1]
	// 64 bits padded with two zero bits make eleven 6-bit characters.
	for i := range 10 {
		out[2+i] = cryptAlphabet[sum>>(58-6*i)&0x3F]
	}
	out[12] = cryptAlphabet[sum<<2&0x3F]
	return out
}
