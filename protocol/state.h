/* The protocol layer's state: what stdlib's protocols keep between calls, one per interpreter
 * (the module's state holds it beside the core's): interned names, stdlib's tables as bound now
 * and the watch that notices a change to them, the per-type fact caches of the native object
 * path, pydantic and uuid, and the settings of copium.config that the top-level entry and the
 * hooks read; the handlers' own state comes first. Protocol code finds it through its call's
 * context (copium_proto(ctx)); code without a context (a shallow copy, a dict watcher's
 * callback) through copium_proto_current(). */
#ifndef COPIUM_PROTOCOL_STATE_H
#define COPIUM_PROTOCOL_STATE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#include "../core/context.h"
#include "../core/state.h"
#include "../handlers/state.h"
#include "memo_rejected.h"

/* Interned attribute names, created at install. */
typedef struct {
    PyObject *deepcopy;      /* "__deepcopy__" */
    PyObject *copy;          /* "__copy__" */
    PyObject *reduce_ex;     /* "__reduce_ex__" */
    PyObject *reduce;        /* "__reduce__" */
    PyObject *setstate;      /* "__setstate__" */
    PyObject *getstate;      /* "__getstate__" */
    PyObject *dict;          /* "__dict__" */
    PyObject *new_;          /* "__new__" */
    PyObject *getnewargs;    /* "__getnewargs__" */
    PyObject *getnewargs_ex; /* "__getnewargs_ex__" */
    PyObject *slotnames;     /* "__slotnames__" */
    PyObject *qualname;      /* "__qualname__" */
    PyObject *module;        /* "__module__" */
    PyObject *builtins;      /* "builtins" */
    PyObject *append;        /* "append" */
    PyObject *update;        /* "update" */
    PyObject *items;         /* "items" */
    PyObject *get;           /* "get" */
    PyObject *copy_method;   /* "copy" (list.copy and friends in copy._copy_dispatch) */
    /* pydantic.c: the names pydantic's BaseModel.__deepcopy__ / __copy__ read. */
    PyObject *pydantic_extra;      /* "__pydantic_extra__" */
    PyObject *pydantic_fields_set; /* "__pydantic_fields_set__" */
    PyObject *pydantic_private;    /* "__pydantic_private__" */
    PyObject *deepcopy_func;       /* "deepcopy" (a module global) */
    PyObject *object_setattr;      /* "_object_setattr" */
    PyObject *pydantic_undefined;  /* "PydanticUndefined" */
    PyObject *version;             /* "VERSION" */
    PyObject *root;                /* "root" */
    PyObject *getattribute;        /* "__getattribute__" */
    PyObject *setattr;             /* "__setattr__" */
    /* pydantic.c: the modules and classes a type is checked against (interned: the check
     * allocates nothing). */
    PyObject *pydantic_main;       /* "pydantic.main" */
    PyObject *pydantic_root_model; /* "pydantic.root_model" */
    PyObject *pydantic_version;    /* "pydantic.version" */
    PyObject *base_model;          /* "BaseModel" */
    PyObject *root_model;          /* "RootModel" */
} copium_names_t;

/* What stdlib's copy functions see, as bound right now (strong references, refreshed by
 * copium_handlers_sync when the program rebinds or changes them). */
typedef struct {
    PyObject *copy_module, *copyreg_module;
    PyObject *copy_dict, *copyreg_dict; /* the modules' __dict__ */
    PyObject *error;                    /* copy.Error */
    PyObject *deepcopy_dispatch;        /* copy._deepcopy_dispatch */
    PyObject *copy_dispatch;            /* copy._copy_dispatch (gone in 3.14) */
    /* 3.14+: the sets copy()/deepcopy() test first (NULL before 3.14). */
    PyObject *atomic_types;            /* copy._atomic_types */
    PyObject *copy_atomic_types;       /* copy._copy_atomic_types */
    PyObject *copy_builtin_containers; /* copy._copy_builtin_containers */
    PyObject *dispatch_table;          /* copy.dispatch_table: copyreg.dispatch_table */
    PyObject *newobj;                  /* copyreg.__newobj__ */
    PyObject *newobj_ex;               /* copyreg.__newobj_ex__ */
    PyObject *slotnames_func;          /* copyreg._slotnames */
    /* Fixed at install: the functions whose behaviour copium reproduces natively when it
     * meets them (compared by identity, never called through these references). */
    PyObject *orig_newobj;          /* copyreg.__newobj__ */
    PyObject *orig_deepcopy_atomic; /* copy._deepcopy_atomic */
    PyObject *orig_error;           /* copy.Error (copium.Error): the class of culprit.c's causes */
    /* object's own protocol entries (from object's type dict). */
    PyObject *object_reduce_ex, *object_reduce, *object_getstate /* NULL before 3.11 */;
    PyObject *object_new; /* object.__new__ */
    PyObject *empty_tuple;
    PyObject *protocol4; /* the int 4 stdlib passes to __reduce_ex__ */
    /* Bumped whenever a watched table or module binding changed: per-type facts computed from
     * the tables (object.c's cache) are valid only for the epoch they were computed in. */
    uint64_t epoch;
} copium_stdlib_t;

/* What copium_handlers_sync compares on every call (owned by stdlib.c): from 3.12 a flag the
 * dict watcher sets; before, the ma_version_tag of each watched dict, read through pointers
 * fixed at the last sync (to a constant when a binding is not a dict), so that the check is
 * five loads and compares with no type tests. */
typedef struct {
#if PY_VERSION_HEX >= 0x030C0000
    int dirty; /* a watched dict changed since the last sync (or no watcher could be had) */
#else
    const uint64_t *live[5]; /* &dict->ma_version_tag of each watched dict */
    uint64_t seen[5];        /* their values at the last sync */
#endif
} copium_stdlib_watch_t;

typedef struct copium_object_cache copium_object_cache;     /* object.c */
typedef struct copium_pydantic_cache copium_pydantic_cache; /* pydantic.c */
typedef struct copium_uuid_facts copium_uuid_facts;         /* uuid.c */

typedef struct copium_protocol {
    /* First: the handlers find their state at the address the context holds for the
     * protocol's (handlers/state.h). */
    copium_handlers_state handlers;
    copium_core *core;
    copium_names_t names;
    copium_stdlib_t stdlib;
    copium_stdlib_watch_t watch;
    /* The tables as stdlib built them (stdlib.c). */
    PyObject *orig_deepcopy_dispatch, *orig_copy_dispatch, *orig_dispatch_table;
    int watcher_id; /* 3.12+: the dict watcher of the tables, -1 without one */
    int unwatched;  /* 3.12+: no watcher could be had: every sync re-reads everything */
    copium_object_cache *object_cache;
    copium_pydantic_cache *pydantic_cache;
    copium_uuid_facts *uuid_facts;
    /* copium.config: memo="dict" (a top-level call without a memo gets a fresh dict as its
     * memo), and on_incompatible / suppress_warnings (memo_rejected.h). */
    int memo_dict;
    copium_memo_rejected_config memo_rejected;
    /* The builtin atoms with no public type symbol on every version (install.c): type(None),
     * type(Ellipsis), type(NotImplemented), weakref.ref. Borrowed: static types. */
    PyTypeObject *late_atoms[4];
} copium_protocol;

static inline copium_protocol *copium_proto(const copium_ctx *ctx)
{
    return (copium_protocol *)ctx->upper;
}

/* The current interpreter's, or NULL when copium is not initialised there. */
static inline copium_protocol *copium_proto_current(void)
{
    copium_core *core = copium_core_current();
    return core != NULL ? (copium_protocol *)core->upper : NULL;
}

/* The call's when there is one (a deep copy), else the current interpreter's (a shallow
 * copy, which has no context). */
static inline copium_protocol *copium_proto_of(const copium_ctx *ctx)
{
    return ctx != NULL ? copium_proto(ctx) : copium_proto_current();
}

#endif
