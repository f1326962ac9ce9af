/* The handler vtable: how the engine copies one exact type. Builtin handlers and third-party
 * plugins use this same struct. It carries its own size and only ever grows at the end, so a
 * handler compiled against an older definition keeps working (SQLite's iVersion rule). */
#ifndef COPIUM_HANDLER_H
#define COPIUM_HANDLER_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <stdint.h>

#include "hash.h"

typedef struct copium_ctx copium_ctx;

/* Deep-copy obj (whose exact type the handler was registered for). hash is obj's address hash,
 * already computed by the engine: pass it to copium_memo_store. Returns a new reference, or
 * NULL with an exception set. On success the handler leaves memo[obj] = result whenever result
 * is not obj (containers that can be part of a cycle store before copying their children). */
typedef PyObject *(*copium_deepcopy_fn)(copium_ctx *ctx, PyObject *obj, copium_hash_t hash,
                                        void *data);

/* Shallow-copy obj. Returns a new reference, or NULL with an exception set. */
typedef PyObject *(*copium_copy_fn)(PyObject *obj, void *data);

/* deepcopy and copy both return the object itself; the functions are not called. */
#define COPIUM_HANDLER_ATOMIC 0x1u
#define COPIUM_HANDLER_KNOWN_FLAGS (COPIUM_HANDLER_ATOMIC)

typedef struct copium_handler {
    size_t struct_size;     /* sizeof(copium_handler) as the registrant compiled it */
    const char *name;       /* shown by copium.handlers() and in error messages */
    uint32_t flags;         /* COPIUM_HANDLER_* */
    copium_deepcopy_fn deepcopy; /* NULL: the engine's default path (stdlib protocol) */
    copium_copy_fn copy;         /* NULL: the engine's default path (stdlib protocol) */
    void *data;                  /* passed back to both functions */
} copium_handler;

/* The first published layout: a struct smaller than this is rejected. */
#define COPIUM_HANDLER_MIN_SIZE (offsetof(copium_handler, data) + sizeof(void *))

#endif
