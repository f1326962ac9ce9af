/* The native memo table (see memo.h): open addressing, linear probing, load factor <= 1/2,
 * reset through the list of occupied slots. */
#include "memo.h"

#include <string.h>

static int alloc_table(copium_memo *memo, size_t capacity)
{
    copium_memo_slot *slots = PyMem_Calloc(capacity, sizeof(*slots));
    uint32_t *used = PyMem_Malloc((capacity / 2) * sizeof(*used));
    if (slots == NULL || used == NULL) {
        PyMem_Free(slots);
        PyMem_Free(used);
        PyErr_NoMemory();
        return -1;
    }
    memo->slots = slots;
    memo->used = used;
    memo->mask = capacity - 1;
    memo->count = 0;
    return 0;
}

int copium_memo_init(copium_memo *memo)
{
    return alloc_table(memo, COPIUM_MEMO_INITIAL_CAPACITY);
}

void copium_memo_fini(copium_memo *memo)
{
    copium_memo_reset(memo);
    PyMem_Free(memo->slots);
    PyMem_Free(memo->used);
    memo->slots = NULL;
    memo->used = NULL;
    memo->mask = 0;
}

/* Double the capacity, re-placing the entries in insertion order. */
static int grow(copium_memo *memo)
{
    copium_memo old = *memo;
    size_t capacity = (old.mask + 1) * 2;
    if (capacity > ((size_t)UINT32_MAX + 1)) {
        PyErr_NoMemory();
        return -1;
    }
    if (alloc_table(memo, capacity) < 0) {
        *memo = old;
        return -1;
    }
    for (size_t n = 0; n < old.count; n++) {
        const copium_memo_slot *src = &old.slots[old.used[n]];
        size_t i = (size_t)copium_hash_ptr(src->key) & memo->mask;
        while (memo->slots[i].key != NULL)
            i = (i + 1) & memo->mask;
        memo->slots[i] = *src;
        memo->used[memo->count++] = (uint32_t)i;
    }
    PyMem_Free(old.slots);
    PyMem_Free(old.used);
    return 0;
}

/* The slot of key: the one it has (*fresh = 0), or a new one with the key set, its value NULL
 * and its place in the insertion order taken (*fresh = 1). NULL with MemoryError set when the
 * table cannot grow. */
static inline copium_memo_slot *slot_for(copium_memo *memo, const void *key, copium_hash_t hash,
                                         int *fresh)
{
    size_t i = (size_t)hash & memo->mask;
    for (;;) {
        copium_memo_slot *slot = &memo->slots[i];
        if (slot->key == key) {
            *fresh = 0;
            return slot;
        }
        if (slot->key == NULL)
            break;
        i = (i + 1) & memo->mask;
    }
    if ((memo->count + 1) * 2 > memo->mask + 1) {
        if (grow(memo) < 0)
            return NULL;
        i = (size_t)hash & memo->mask;
        while (memo->slots[i].key != NULL)
            i = (i + 1) & memo->mask;
    }
    memo->slots[i].key = key;
    memo->used[memo->count++] = (uint32_t)i;
    *fresh = 1;
    return &memo->slots[i];
}

int copium_memo_insert(copium_memo *memo, const void *key, copium_hash_t hash, PyObject *value)
{
    int fresh;
    copium_memo_slot *slot = slot_for(memo, key, hash, &fresh);
    if (slot == NULL)
        return -1;
    PyObject *old = slot->value;
    slot->value = Py_NewRef(value);
    Py_XDECREF(old); /* last: a finaliser it runs sees the table consistent */
    return fresh;
}

void copium_memo_reset(copium_memo *memo)
{
    if (memo->slots == NULL)
        return;
    /* Releasing a value may run a finaliser that copies again; that copy gets a context of its
     * own (this one stays in use until its reset is done), so the table is never reentered. */
    for (size_t n = 0; n < memo->count; n++) {
        copium_memo_slot *slot = &memo->slots[memo->used[n]];
        PyObject *value = slot->value;
        slot->key = NULL;
        slot->value = NULL;
        Py_DECREF(value);
    }
    memo->count = 0;
    if (copium_memo_capacity(memo) > COPIUM_MEMO_RETAIN_CAPACITY) {
        copium_memo_slot *slots = PyMem_Calloc(COPIUM_MEMO_INITIAL_CAPACITY, sizeof(*slots));
        uint32_t *used = PyMem_Malloc((COPIUM_MEMO_INITIAL_CAPACITY / 2) * sizeof(*used));
        if (slots == NULL || used == NULL) {
            /* Keep the large (empty, consistent) table rather than fail a reset. */
            PyMem_Free(slots);
            PyMem_Free(used);
            return;
        }
        PyMem_Free(memo->slots);
        PyMem_Free(memo->used);
        memo->slots = slots;
        memo->used = used;
        memo->mask = COPIUM_MEMO_INITIAL_CAPACITY - 1;
    }
}

int copium_memo_insert_index(copium_memo *memo, const void *key, copium_hash_t hash,
                             Py_ssize_t index)
{
    int fresh;
    copium_memo_slot *slot = slot_for(memo, key, hash, &fresh);
    if (slot == NULL)
        return -1;
    slot->value = (PyObject *)(uintptr_t)(index + 1);
    return fresh;
}

void copium_memo_fini_indices(copium_memo *memo)
{
    memo->count = 0; /* nothing to release: the values are not references */
    PyMem_Free(memo->slots);
    PyMem_Free(memo->used);
    memo->slots = NULL;
    memo->used = NULL;
    memo->mask = 0;
}
