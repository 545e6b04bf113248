/* memhash.h — the documented memfill pattern and hash, shared by the guest
 * (C11, freestanding) and host tests (C++20), so both sides agree bit for bit.
 *
 * Definition (all arithmetic modulo 2^64):
 *   The region starts at guest-physical TG_MEMFILL_BASE and holds n MiB, i.e.
 *   n * 2^20 / 8 little-endian 64-bit words. Word i (i = 0, 1, ...) is
 *     tg_fill_word(seed, i) = splitmix64(seed + i), where
 *     splitmix64(x): z = x + 0x9e3779b97f4a7c15;
 *                    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
 *                    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
 *                    return z ^ (z >> 31);
 *   The hash of a region is FNV-1a over words (not bytes):
 *     h = 0xcbf29ce484222325; for each word w in order: h = (h ^ w) * 0x100000001b3.
 *   The guest prints h as 16 lowercase hex digits without "0x".
 */
#ifndef TG_MEMHASH_H
#define TG_MEMHASH_H

#include <stdint.h>

#define TG_MEMFILL_BASE 0x1000000ull /* 16 MiB: clear of the image at 1 MiB */

static inline uint64_t tg_splitmix64(uint64_t x)
{
    uint64_t z = x + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t tg_fill_word(uint64_t seed, uint64_t i)
{
    return tg_splitmix64(seed + i);
}

static inline uint64_t tg_hash_init(void)
{
    return 0xcbf29ce484222325ull;
}

static inline uint64_t tg_hash_step(uint64_t h, uint64_t w)
{
    return (h ^ w) * 0x100000001b3ull;
}

/* Host convenience: the hash the guest reports after `memfill mib=<mib> seed=<seed>`. */
static inline uint64_t tg_expected_hash(uint64_t seed, uint64_t mib)
{
    uint64_t h = tg_hash_init();
    uint64_t words = mib * (1024u * 1024u / 8u);
    for (uint64_t i = 0; i < words; i++)
        h = tg_hash_step(h, tg_fill_word(seed, i));
    return h;
}

#endif
