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
 *
 * The smp workload: CPU c (0 = the BSP, then the APs in MP table order) starts
 * from h = tg_smp_seed(c) = splitmix64(0x736d70 + c) and, for k = 1 .. iters,
 * sets h = tg_smp_step(h, k) = splitmix64 applied 4 times to h ^ k. Four
 * rounds per step only to make 10^8 steps take a few seconds.
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

static inline uint64_t tg_smp_seed(uint64_t cpu)
{
    return tg_splitmix64(0x736d70ull + cpu); /* "smp" */
}

static inline uint64_t tg_smp_step(uint64_t h, uint64_t k)
{
    return tg_splitmix64(tg_splitmix64(tg_splitmix64(tg_splitmix64(h ^ k))));
}

/* Host convenience: hash<cpu> of `smp iters=<iters>`. */
static inline uint64_t tg_smp_expected_hash(uint64_t cpu, uint64_t iters)
{
    uint64_t h = tg_smp_seed(cpu);
    for (uint64_t k = 1; k <= iters; k++)
        h = tg_smp_step(h, k);
    return h;
}

#endif
