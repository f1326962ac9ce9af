/* A frozen copy of copium's public header as plugins were built against it before the header
 * gained COPIUM_UNIQUE_SYMBOL, the per-level size macros and the reserved flag names (ABI 1, API
 * level 1; from plugins/copium.h at commit c54edec). test_plugin_compat.c compiles a plugin
 * against it and loads it into today's copium: a plugin built then must keep working unrebuilt.
 * Never edit it (below this paragraph it is the file as it was). */
/* copium's public C API: the one header a plugin (a C extension that teaches copium how to copy
 * its own types) compiles against. A plugin never links against copium: its module init calls
 * copium_import(), which fetches a table of functions from a capsule on copium._copium and
 * checks that this header and the installed copium agree (numpy's import_array and CPython's
 * PyDateTime_IMPORT work the same way). It then registers a copium_handler for each of its
 * types. Rules that keep old plugins working with new copium (SQLite's iVersion rule): structs
 * carry their own size and only ever grow at the end; COPIUM_ABI_VERSION changes only when
 * something existing changes (every plugin must then be rebuilt); COPIUM_API_LEVEL grows when
 * functions are appended to copium_api (a plugin needs at least the level it was built with).
 * See docs/plugins.md for a walk-through. */
#ifndef COPIUM_H
#define COPIUM_H

#ifndef PY_SSIZE_T_CLEAN
#define PY_SSIZE_T_CLEAN
#endif
#include <Python.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define COPIUM_ABI_VERSION 1
#define COPIUM_API_LEVEL   1

/* The name of the capsule (an attribute "_C_API" of copium._copium). */
#define COPIUM_CAPSULE_NAME "copium._copium._C_API"

/* One deep copy in progress: memo, keepalive, recursion guard. Opaque. */
typedef struct copium_ctx copium_ctx;

/* An object's address hash, computed once by the engine and passed to the handler, which
 * passes it back to the memo functions (so the object is never hashed twice). */
typedef uint64_t copium_hash_t;

/* Deep-copy obj, an instance of exactly the type the handler was registered for. Returns a new
 * reference, or NULL with an exception set (NULL without one is a bug that surfaces as
 * SystemError). Copy children with copium_deepcopy_child. On
 * success, leave memo[obj] = result (copium_memo_store) whenever result is not obj; a
 * container that may be part of a cycle calls copium_memo_remember with its new, still empty
 * copy before copying its children, and copium_memo_store once it is complete. */
typedef PyObject *(*copium_deepcopy_fn)(copium_ctx *ctx, PyObject *obj, copium_hash_t hash,
                                        void *data);

/* Shallow-copy obj. Returns a new reference, or NULL with an exception set. */
typedef PyObject *(*copium_copy_fn)(PyObject *obj, void *data);

/* Both deepcopy and copy return the object itself; the functions are not called. */
#define COPIUM_HANDLER_ATOMIC      0x1u
#define COPIUM_HANDLER_KNOWN_FLAGS (COPIUM_HANDLER_ATOMIC)

/* How to copy one exact type (subclasses are not covered: each type is registered on its own).
 * copium keeps its own copy of the struct: it need not outlive the registration call. */
typedef struct copium_handler {
    size_t struct_size;          /* sizeof(copium_handler): set it, copium checks it */
    const char *name;            /* shown by copium.handlers(); required; must stay valid */
    uint32_t flags;              /* COPIUM_HANDLER_* */
    copium_deepcopy_fn deepcopy; /* NULL: stdlib's protocol (__deepcopy__, __reduce_ex__, ...) */
    copium_copy_fn copy;         /* NULL: stdlib's protocol (__copy__, __reduce_ex__, ...) */
    void *data;                  /* handed back to both functions */
} copium_handler;

/* The smallest struct_size copium accepts: the first published layout. */
#define COPIUM_HANDLER_MIN_SIZE (offsetof(copium_handler, data) + sizeof(void *))

/* The function table behind the capsule. Fields are only ever appended; check api_level (or
 * struct_size) before using a field newer than COPIUM_API_LEVEL 1. */
typedef struct copium_api {
    size_t struct_size;
    uint32_t abi_version; /* COPIUM_ABI_VERSION of the installed copium */
    uint32_t api_level;   /* COPIUM_API_LEVEL of the installed copium */

    /* --- API level 1 --- */

    /* Register handler for exactly type, replacing any handler it had (a builtin one too).
     * 0, or -1 with TypeError (not a type) or ValueError (bad handler) set. */
    int (*register_handler)(PyTypeObject *type, const copium_handler *handler);
    /* 1 when a registration was removed, 0 when type had none. */
    int (*unregister_handler)(PyTypeObject *type);

    /* For handlers: copy a child, and record original -> copy in the memo. */
    PyObject *(*deepcopy_child)(copium_ctx *ctx, PyObject *obj);
    int (*memo_remember)(copium_ctx *ctx, PyObject *orig, copium_hash_t hash, PyObject *copy);
    int (*memo_store)(copium_ctx *ctx, PyObject *orig, copium_hash_t hash, PyObject *copy);
    /* 1 and a new reference in *copy when orig is memoized, 0 when not, -1 on error. */
    int (*memo_find)(copium_ctx *ctx, PyObject *orig, copium_hash_t hash, PyObject **copy);
    /* The memo as the dict a __deepcopy__(memo) method expects (borrowed), or NULL with an
     * exception set: stdlib's memo at this point, kept so whenever Python code may run, and
     * what is changed in it is seen by the memo functions. */
    PyObject *(*ctx_memo)(copium_ctx *ctx);
    /* stdlib's protocol for obj, for a handler that defers in some cases. */
    PyObject *(*deepcopy_default)(copium_ctx *ctx, PyObject *obj, copium_hash_t hash);
    PyObject *(*copy_default)(PyObject *obj);

    /* For any C caller: copium.deepcopy(obj, memo) (memo may be NULL) and copium.copy(obj). */
    PyObject *(*deepcopy)(PyObject *obj, PyObject *memo);
    PyObject *(*copy)(PyObject *obj);

    /* The address hash the memo functions take, for an object other than the handler's own
     * (whose hash the handler is given). */
    copium_hash_t (*hash_object)(PyObject *obj);
} copium_api;

/* The end of the table as API level 1 defined it. */
#define COPIUM_API_LEVEL_1_SIZE (offsetof(copium_api, hash_object) + sizeof(void *))

#ifndef COPIUM_INTERNAL

/* The oldest copium this plugin accepts, as an API level: define it before including this
 * header to use only older functions and run with an older copium (like numpy's
 * NPY_TARGET_VERSION). It defaults to the level of this header. */
#ifndef COPIUM_TARGET_API_LEVEL
#define COPIUM_TARGET_API_LEVEL COPIUM_API_LEVEL
#endif

/* This translation unit's pointer to the table, set by copium_import(). A plugin made of
 * several C files calls copium_import() in each file that uses the API (it is cheap). */
static const copium_api *copium_API = NULL;

/* Import copium and check that it matches this header. Returns 0, or -1 with ImportError set
 * (the message says what to rebuild or upgrade). Call it from the plugin's module init with
 * the GIL held. The first three fields of copium_api are the same in every ABI version. */
static inline int copium_import(void)
{
    const copium_api *api = (const copium_api *)PyCapsule_Import(COPIUM_CAPSULE_NAME, 0);
    if (api == NULL) {
        if (PyErr_ExceptionMatches(PyExc_ImportError) ||
            PyErr_ExceptionMatches(PyExc_AttributeError)) {
            PyErr_Clear();
            PyErr_SetString(PyExc_ImportError,
                            "this plugin needs copium, whose C API (" COPIUM_CAPSULE_NAME
                            ") could not be imported: install copium");
        }
        return -1;
    }
    if (api->abi_version != COPIUM_ABI_VERSION) {
        PyErr_Format(PyExc_ImportError,
                     "this plugin was built against copium C ABI version %d, but the installed "
                     "copium has ABI version %u: rebuild the plugin against the installed copium",
                     COPIUM_ABI_VERSION, (unsigned)api->abi_version);
        return -1;
    }
    if (api->api_level < COPIUM_TARGET_API_LEVEL) {
        PyErr_Format(PyExc_ImportError,
                     "this plugin needs copium C API level %d, but the installed copium provides "
                     "level %u: upgrade copium",
                     COPIUM_TARGET_API_LEVEL, (unsigned)api->api_level);
        return -1;
    }
    if (api->struct_size < COPIUM_API_LEVEL_1_SIZE) {
        PyErr_Format(PyExc_ImportError,
                     "the installed copium's C API table is %zu bytes, smaller than API level 1's "
                     "%zu: the copium installation is broken, reinstall it",
                     api->struct_size, (size_t)COPIUM_API_LEVEL_1_SIZE);
        return -1;
    }
    copium_API = api;
    return 0;
}

#define copium_register_handler(type, handler) (copium_API->register_handler((type), (handler)))
#define copium_unregister_handler(type)        (copium_API->unregister_handler(type))
#define copium_deepcopy_child(ctx, obj)        (copium_API->deepcopy_child((ctx), (obj)))
#define copium_memo_remember(ctx, orig, hash, copy)                                                \
    (copium_API->memo_remember((ctx), (orig), (hash), (copy)))
#define copium_memo_store(ctx, orig, hash, copy)                                                   \
    (copium_API->memo_store((ctx), (orig), (hash), (copy)))
#define copium_memo_find(ctx, orig, hash, copy)                                                    \
    (copium_API->memo_find((ctx), (orig), (hash), (copy)))
#define copium_ctx_memo(ctx)                    (copium_API->ctx_memo(ctx))
#define copium_deepcopy_default(ctx, obj, hash) (copium_API->deepcopy_default((ctx), (obj), (hash)))
#define copium_copy_default(obj)                (copium_API->copy_default(obj))
#define copium_deepcopy(obj, memo)              (copium_API->deepcopy((obj), (memo)))
#define copium_copy(obj)                        (copium_API->copy(obj))
#define copium_hash_object(obj)                 (copium_API->hash_object(obj))

#endif /* COPIUM_INTERNAL */

#ifdef __cplusplus
}
#endif

#endif /* COPIUM_H */
