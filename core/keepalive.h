/* The keepalive vector: strong references to every original the memo maps, so that no
 * original (a temporary made by __reduce__, say) is freed while the memo still uses its
 * address, which a new object could otherwise reuse. Stdlib keeps the same list at
 * memo[id(memo)]. Same retention rule as the memo: a vector that grew is shrunk on reset. */
#ifndef COPIUM_KEEPALIVE_H
#define COPIUM_KEEPALIVE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

typedef struct {
    PyObject **items;
    size_t count;
    size_t capacity;
} copium_keepalive;

#define COPIUM_KEEPALIVE_INITIAL_CAPACITY 32
#define COPIUM_KEEPALIVE_RETAIN_CAPACITY  4096

int copium_keepalive_init(copium_keepalive *ka);
void copium_keepalive_fini(copium_keepalive *ka);
int copium_keepalive_grow(copium_keepalive *ka);

/* Take a new reference to obj. Returns 0, or -1 with MemoryError set. */
static inline int copium_keepalive_push(copium_keepalive *ka, PyObject *obj)
{
    if (ka->count == ka->capacity && copium_keepalive_grow(ka) < 0)
        return -1;
    ka->items[ka->count++] = Py_NewRef(obj);
    return 0;
}

/* Release every reference in O(count); shrink past the retention limit. */
void copium_keepalive_reset(copium_keepalive *ka);

/* A new list holding the same references (the keepalive list stdlib keeps at memo[id(memo)]). */
PyObject *copium_keepalive_as_list(const copium_keepalive *ka);

#endif
