/* The one hash copium computes per object: a mix of its address. Addresses are aligned and
 * clustered, so the low bits alone would make a poor open-addressing index; the 64-bit
 * finaliser of MurmurHash3 (fmix64) spreads every input bit over the whole word. */
#ifndef COPIUM_HASH_H
#define COPIUM_HASH_H

#include <stdint.h>

/* copium_hash_t is uint64_t (declared in include/copium/copium.h as well). */
typedef uint64_t copium_hash_t;

static inline copium_hash_t copium_hash_ptr(const void *ptr)
{
    uint64_t h = (uint64_t)(uintptr_t)ptr;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

#endif
