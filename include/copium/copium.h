/* copium's public C API: the one header a plugin (a C extension that teaches copium how to copy
 * its own types) compiles against. A plugin never links against copium: its module init calls
 * copium_import(), which fetches a table of functions from a capsule on copium._copium and
 * checks that the installed copium serves what this plugin needs (numpy's import_array and
 * CPython's PyDateTime_IMPORT work the same way). It then registers a copium_handler for each of
 * its types. An installed copium ships this header in its package (copium.get_include()).
 *
 * The rules that keep old plugins working with new copium (SQLite's iVersion rule):
 * - structs carry their own size and only ever grow at the end;
 * - COPIUM_ABI_VERSION changes only when something existing changes (every plugin must then be
 *   rebuilt); it must be equal;
 * - COPIUM_API_LEVEL grows when something is appended (functions at the end of copium_api,
 *   fields at the end of copium_handler, flag bits); COPIUM_API_LEVEL_<n>_SIZE is the size of
 *   the table as level n defined it, and never changes;
 * - a plugin states the oldest level it runs with (COPIUM_TARGET_API_LEVEL, by default this
 *   header's level); copium_import() checks the installed level and table size against that.
 *
 * One C file: include this header, call copium_import() in the module's exec function. Several
 * C files: define COPIUM_UNIQUE_SYMBOL to one name in every file before including this header,
 * and COPIUM_NO_IMPORT as well in every file but the one that calls copium_import() (numpy's
 * PY_ARRAY_UNIQUE_SYMBOL / NO_IMPORT_ARRAY, SQLite's SQLITE_EXTENSION_INIT1 / INIT3): the API
 * pointer is then defined once, in that file, and shared by all of them.
 *
 * See docs/plugins.md for a walk-through and examples/pair for a complete plugin. */
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
#define COPIUM_API_LEVEL   2

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
#define COPIUM_HANDLER_ATOMIC 0x1u
/* API level 2. The deep copy is fixed by the object's state: deepcopy runs no Python code,
 * reads nothing but the object, copies its children only through copium_deepcopy_child, and
 * has no other effect. A snapshot (copium.extra.snapshot, pins) may then keep a private copy
 * of such an object and call deepcopy on it at each build, with the children it reaches
 * resolved to that build's copies (docs/plugins.md, "Snapshots"). */
#define COPIUM_HANDLER_RECORDABLE 0x2u
/* Every bit a plugin may set (API level 2). Registration rejects any other bit. */
#define COPIUM_HANDLER_KNOWN_FLAGS (COPIUM_HANDLER_ATOMIC | COPIUM_HANDLER_RECORDABLE)

/* Bits copium's own handlers use, named here so that no public flag ever takes them; a plugin
 * that sets one is rejected like any unknown bit. STDLIB_ATOM: one of the types stdlib's
 * deepcopy returns before it looks at the memo. QUIET: the handler runs no Python code.
 * SETTLES: the handler runs as a quiet one and prepares for the Python code it may run itself.
 * SELF_CHECKED: the handler checks per object that it serves the object's type. */
#define COPIUM_HANDLER_RESERVED_STDLIB_ATOM  0x80000000u
#define COPIUM_HANDLER_RESERVED_QUIET        0x40000000u
#define COPIUM_HANDLER_RESERVED_SETTLES      0x20000000u
#define COPIUM_HANDLER_RESERVED_SELF_CHECKED 0x10000000u
#define COPIUM_HANDLER_RESERVED_FLAGS                                                              \
    (COPIUM_HANDLER_RESERVED_STDLIB_ATOM | COPIUM_HANDLER_RESERVED_QUIET |                         \
     COPIUM_HANDLER_RESERVED_SETTLES | COPIUM_HANDLER_RESERVED_SELF_CHECKED)

#if (COPIUM_HANDLER_KNOWN_FLAGS & COPIUM_HANDLER_RESERVED_FLAGS) != 0
#error "a public copium flag overlaps a reserved one"
#endif

/* How to copy one exact type (subclasses are not covered: each type is registered on its own).
 * copium keeps its own copy of the struct: it need not outlive the registration call. */
typedef struct copium_handler {
    size_t struct_size;          /* sizeof(copium_handler): set it, copium checks it */
    const char *name;            /* shown by copium.handlers(); required; must stay valid */
    uint32_t flags;              /* COPIUM_HANDLER_* */
    copium_deepcopy_fn deepcopy; /* NULL: stdlib's protocol (__deepcopy__, __reduce_ex__, ...) */
    copium_copy_fn copy;         /* NULL: stdlib's protocol (__copy__, __reduce_ex__, ...) */
    void *data;                  /* handed back to both functions */
    /* Fields of later API levels go here, at the end; zero means the level-1 behaviour. */
} copium_handler;

/* The handler as API level 1 defined it, which is the smallest struct_size copium accepts. */
#define COPIUM_HANDLER_LEVEL_1_SIZE (offsetof(copium_handler, data) + sizeof(void *))
#define COPIUM_HANDLER_MIN_SIZE     COPIUM_HANDLER_LEVEL_1_SIZE

/* The function table behind the capsule. The first three fields are the same in every ABI
 * version, so that copium_import() can always read them. Fields are only ever appended: a
 * field newer than the plugin's COPIUM_TARGET_API_LEVEL is used only after
 * copium_has_api_level() said it is there. */
typedef struct copium_api {
    size_t struct_size;   /* sizeof(copium_api) of the installed copium */
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

    /* --- Functions of later API levels go here, at the end. --- */
} copium_api;

/* The size of the table as each API level defined it: a table at least this big has every
 * function of that level. One constant per level, never changed once published. */
#define COPIUM_API_LEVEL_1_SIZE (offsetof(copium_api, hash_object) + sizeof(void *))
/* Level 2 added a flag bit (COPIUM_HANDLER_RECORDABLE), no function. */
#define COPIUM_API_LEVEL_2_SIZE COPIUM_API_LEVEL_1_SIZE

/* The table size API level `level` needs; SIZE_MAX for a level this header does not know, so
 * that a check against it fails rather than reads past the table. */
#define COPIUM_API_SIZE_FOR_LEVEL(level)                                                           \
    ((level) == 1 ? COPIUM_API_LEVEL_1_SIZE : (level) == 2 ? COPIUM_API_LEVEL_2_SIZE : SIZE_MAX)

#ifdef COPIUM_INTERNAL
/* copium's own table: whoever raises COPIUM_API_LEVEL defines that level's size constant. */
_Static_assert(COPIUM_API_SIZE_FOR_LEVEL(COPIUM_API_LEVEL) <= sizeof(copium_api),
               "COPIUM_API_SIZE_FOR_LEVEL does not know COPIUM_API_LEVEL");
_Static_assert(COPIUM_HANDLER_MIN_SIZE <= sizeof(copium_handler), "handler floor");
#else

/* The oldest copium this plugin accepts, as an API level: define it before including this
 * header to run with an older copium (like numpy's NPY_TARGET_VERSION). It defaults to the level
 * of this header. A function newer than the target level is there only when
 * copium_has_api_level(its level) says so. */
#ifndef COPIUM_TARGET_API_LEVEL
#define COPIUM_TARGET_API_LEVEL COPIUM_API_LEVEL
#endif
#if COPIUM_TARGET_API_LEVEL < 1 || COPIUM_TARGET_API_LEVEL > COPIUM_API_LEVEL
#error "COPIUM_TARGET_API_LEVEL must be at least 1 and at most this header's COPIUM_API_LEVEL"
#endif

/* The pointer to the table, set by copium_import() and used by every copium_* macro.
 * - Neither macro defined (a plugin of one C file): a static pointer in this file.
 * - COPIUM_UNIQUE_SYMBOL defined (to a name unique to the plugin, in every C file of it): one
 *   pointer of that name for the whole plugin, defined in the file that calls copium_import();
 *   the other files define COPIUM_NO_IMPORT too, and only declare it (they have no
 *   copium_import()). The pointer is hidden from other shared objects where the compiler can
 *   say so. */
#if defined(COPIUM_NO_IMPORT) && !defined(COPIUM_UNIQUE_SYMBOL)
#error "COPIUM_NO_IMPORT needs COPIUM_UNIQUE_SYMBOL: define it to the same name in every file"
#endif

#if defined(__GNUC__) || defined(__clang__)
#define COPIUM_API_POINTER_VISIBILITY __attribute__((visibility("hidden")))
#else
#define COPIUM_API_POINTER_VISIBILITY
#endif

#ifdef COPIUM_UNIQUE_SYMBOL
#define copium_API COPIUM_UNIQUE_SYMBOL
#ifdef COPIUM_NO_IMPORT
extern COPIUM_API_POINTER_VISIBILITY const copium_api *copium_API;
#else
COPIUM_API_POINTER_VISIBILITY const copium_api *copium_API = NULL;
#endif
#else
static const copium_api *copium_API = NULL;
#endif

#ifndef COPIUM_NO_IMPORT

/* Import copium and check it against this plugin. Returns 0, or -1 with ImportError set (the
 * message says what to rebuild or upgrade). Call it from the plugin's module init (its exec
 * function, with multi-phase init) with the GIL held; calling it again is harmless. On failure
 * copium_API is left as it was. */
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
    if (api->api_level < (uint32_t)COPIUM_TARGET_API_LEVEL) {
        PyErr_Format(PyExc_ImportError,
                     "this plugin needs copium C API level %d, but the installed copium provides "
                     "level %u: upgrade copium",
                     COPIUM_TARGET_API_LEVEL, (unsigned)api->api_level);
        return -1;
    }
    if (api->struct_size < COPIUM_API_SIZE_FOR_LEVEL(COPIUM_TARGET_API_LEVEL)) {
        PyErr_Format(PyExc_ImportError,
                     "the installed copium's C API table is %zu bytes, smaller than API level %d's "
                     "%zu: the copium installation is broken, reinstall it",
                     api->struct_size, COPIUM_TARGET_API_LEVEL,
                     (size_t)COPIUM_API_SIZE_FOR_LEVEL(COPIUM_TARGET_API_LEVEL));
        return -1;
    }
    copium_API = api;
    return 0;
}

#endif /* COPIUM_NO_IMPORT */

/* Nonzero when the installed copium (imported) has every function of API level `level`: check
 * it before calling a function newer than COPIUM_TARGET_API_LEVEL. */
#define copium_has_api_level(level)                                                                \
    (copium_API->api_level >= (uint32_t)(level) &&                                                 \
     copium_API->struct_size >= COPIUM_API_SIZE_FOR_LEVEL(level))

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
