/* BLAKE2b-512 (RFC 7693) whose running state is snarkjs's "partial hash".
 *
 * A powers-of-tau contribution record keeps the response hasher's state just before the
 * contributor's public key was hashed (216 bytes, the in-memory layout of @noble/hashes'
 * blake2b that snarkjs serialises): the pending block (128 bytes, the last 1..128 input bytes
 * are held back until more input or the final block arrives), the chaining value h[0..7]
 * (little-endian u64), the bytes already compressed (u64) and the pending count (u64), then 8
 * zero bytes. Python's hashlib hides that state, hence this small implementation; the layout
 * is operated on in place so Python keeps the state as a plain bytearray.
 */
#include <stdint.h>
#include <string.h>

#include "zkp.h"

enum { BLK = 128, OFF_H = 128, OFF_DONE = 192, OFF_POS = 200 };

static const uint64_t IV[8] = {0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL,
                               0xa54ff53a5f1d36f1ULL, 0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL,
                               0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL};

static const uint8_t SIGMA[12][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4}, {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13}, {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11}, {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5}, {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
};

static inline uint64_t rotr(uint64_t x, int n) { return (x >> n) | (x << (64 - n)); }

static inline uint64_t load64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8); /* little-endian hosts only (x86-64, aarch64) */
    return v;
}

#define MIX(a, b, c, d, x, y)          \
    do {                               \
        v[a] = v[a] + v[b] + (x);      \
        v[d] = rotr(v[d] ^ v[a], 32);  \
        v[c] = v[c] + v[d];            \
        v[b] = rotr(v[b] ^ v[c], 24);  \
        v[a] = v[a] + v[b] + (y);      \
        v[d] = rotr(v[d] ^ v[a], 16);  \
        v[c] = v[c] + v[d];            \
        v[b] = rotr(v[b] ^ v[c], 63);  \
    } while (0)

static void compress(uint64_t h[8], const uint8_t *block, uint64_t t, int last) {
    uint64_t m[16], v[16];
    for (int i = 0; i < 16; i++) m[i] = load64(block + 8 * i);
    for (int i = 0; i < 8; i++) {
        v[i] = h[i];
        v[i + 8] = IV[i];
    }
    v[12] ^= t;
    if (last) v[14] = ~v[14];
    for (int r = 0; r < 12; r++) {
        const uint8_t *s = SIGMA[r];
        MIX(0, 4, 8, 12, m[s[0]], m[s[1]]);
        MIX(1, 5, 9, 13, m[s[2]], m[s[3]]);
        MIX(2, 6, 10, 14, m[s[4]], m[s[5]]);
        MIX(3, 7, 11, 15, m[s[6]], m[s[7]]);
        MIX(0, 5, 10, 15, m[s[8]], m[s[9]]);
        MIX(1, 6, 11, 12, m[s[10]], m[s[11]]);
        MIX(2, 7, 8, 13, m[s[12]], m[s[13]]);
        MIX(3, 4, 9, 14, m[s[14]], m[s[15]]);
    }
    for (int i = 0; i < 8; i++) h[i] ^= v[i] ^ v[i + 8];
}

void zkp_blake2b_init(uint8_t *state) {
    uint64_t h[8];
    memcpy(h, IV, sizeof h);
    h[0] ^= 0x01010040ULL; /* digest 64 bytes, no key, fanout 1, depth 1 */
    memset(state, 0, ZKP_BLAKE2B_STATE);
    memcpy(state + OFF_H, h, sizeof h);
}

void zkp_blake2b_update(uint8_t *state, const uint8_t *data, size_t n) {
    uint64_t h[8], done, pos;
    memcpy(h, state + OFF_H, sizeof h);
    memcpy(&done, state + OFF_DONE, 8);
    memcpy(&pos, state + OFF_POS, 8);
    while (n > 0) {
        if (pos == BLK) { /* a full pending block and more input: it is not the last */
            done += BLK;
            compress(h, state, done, 0);
            pos = 0;
        }
        if (pos == 0) {
            while (n > BLK) { /* whole blocks straight from the input, keeping the last back */
                done += BLK;
                compress(h, data, done, 0);
                data += BLK;
                n -= BLK;
            }
        }
        size_t take = BLK - pos < n ? BLK - pos : n;
        memcpy(state + pos, data, take);
        pos += take;
        data += take;
        n -= take;
    }
    memcpy(state + OFF_H, h, sizeof h);
    memcpy(state + OFF_DONE, &done, 8);
    memcpy(state + OFF_POS, &pos, 8);
}

void zkp_blake2b_final(const uint8_t *state, uint8_t *out) {
    uint64_t h[8], done, pos;
    uint8_t block[BLK];
    memcpy(h, state + OFF_H, sizeof h);
    memcpy(&done, state + OFF_DONE, 8);
    memcpy(&pos, state + OFF_POS, 8);
    if (pos > BLK) pos = BLK; /* a malformed record: hash garbage rather than read past */
    memset(block, 0, sizeof block);
    memcpy(block, state, pos);
    compress(h, block, done + pos, 1);
    memcpy(out, h, 64);
}
