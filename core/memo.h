/* The native memo: original object address -> copy, an open-addressing table with linear
 * probing. The caller hashes each address once (copium_hash_ptr) and passes the hash to both
 * the lookup and, after a miss, the insert. A list of occupied slots makes reset cost
 * O(entries used), never O(capacity), and a table that one large copy grew is shrunk back when
 * it is reset, so a big copy never makes later small copies slower. Keys are borrowed (the
 * keepalive vector owns the originals); values are strong references. Memory comes from
 * PyMem_* so that tracemalloc sees it. */
#ifndef COPIUM_MEMO_H
#define COPIUM_MEMO_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#include "hash.h"

typedef struct {
    const void *key; /* NULL: empty slot */
    PyObject *value;
} copium_memo_slot;

typedef struct {
    copium_memo_slot *slots;
    size_t mask;    /* capacity - 1; capacity is a power of two */
    uint32_t *used; /* indices of occupied slots, in insertion order */
    size_t count;   /* occupied slots */
} copium_memo;

#define COPIUM_MEMO_INITIAL_CAPACITY 64
/* After a reset, a table larger than this is given back and reallocated at the initial size. */
#define COPIUM_MEMO_RETAIN_CAPACITY 8192

int copium_memo_init(copium_memo *memo);
void copium_memo_fini(copium_memo *memo);

/* Borrowed reference to the copy of key, or NULL if key is absent. Never raises. */
static inline PyObject *copium_memo_lookup(const copium_memo *memo, const void *key,
                                           copium_hash_t hash)
{
    size_t i = (size_t)hash & memo->mask;
    for (;;) {
        const copium_memo_slot *slot = &memo->slots[i];
        if (slot->key == key)
            return slot->value;
        if (slot->key == NULL)
            return NULL;
        i = (i + 1) & memo->mask;
    }
}

/* Set key -> value (a new reference is taken; an existing value is replaced).
 * Returns 1 when key is new, 0 when it replaced a value, or -1 with MemoryError set. */
int copium_memo_insert(copium_memo *memo, const void *key, copium_hash_t hash, PyObject *value);

/* Drop every entry in O(count) and shrink a table that grew past the retention limit.
 * Values are released, which may run arbitrary code (finalisers): callers must not rely on
 * the table's contents afterwards. */
void copium_memo_reset(copium_memo *memo);

static inline size_t copium_memo_capacity(const copium_memo *memo)
{
    return memo->mask + 1;
}

/* The same table as a plain map from an address to an index >= 0, for code that records
 * rather than copies (batch/plan.c): the value field holds index + 1, never a reference, so
 * such a table is freed with copium_memo_fini_indices, which releases nothing. */
int copium_memo_insert_index(copium_memo *memo, const void *key, copium_hash_t hash,
                             Py_ssize_t index);
void copium_memo_fini_indices(copium_memo *memo);

/* The index stored for key, or -1 when key is absent. */
static inline Py_ssize_t copium_memo_lookup_index(const copium_memo *memo, const void *key,
                                                  copium_hash_t hash)
{
    PyObject *value = copium_memo_lookup(memo, key, hash);
    return value == NULL ? -1 : (Py_ssize_t)(uintptr_t)value - 1;
}

#endif
