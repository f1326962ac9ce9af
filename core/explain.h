/* copium.explain's recorder: while copium.explain copies an object, every object the engine
 * meets is attributed to its type and to the path it took (an atom, which kind of handler, or
 * which step of stdlib's protocol, with the reason the protocol noted), and timed: the time in
 * the object's own copy and the time including what is below it. Nothing here is on the normal
 * path: a context carries COPIUM_OBSERVED_EXPLAIN (context.h) only while copium.explain records
 * its thread, and the engine enters the recorder only from its slow child path, which that flag
 * already selects; the protocol handlers note their route only under the same flag.
 *
 * A recorder belongs to one copium.explain call on one thread: copium_explain_begin makes it
 * the thread's current recorder and holds the thread's reusable context, so that every
 * top-level call the copy makes on this thread (the explained call itself, a hook's nested
 * deepcopy) gets a context of its own carrying the flag. Another thread's contexts never carry
 * it: their copies are neither recorded nor slowed. */
#ifndef COPIUM_EXPLAIN_H
#define COPIUM_EXPLAIN_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "context.h"
#include "handler.h"

/* The paths an object can take. The first six come from the registry's answer for its type
 * (COPIUM_PATH_OBJECT standing for the protocol handler, whose native object path is its
 * common case); the protocol handler notes the others when it takes them. */
typedef enum {
    COPIUM_PATH_ATOM,           /* returned as itself */
    COPIUM_PATH_BUILTIN,        /* a builtin container handler (dict, list, ...) */
    COPIUM_PATH_VALUE,          /* a value-type handler (datetime, uuid) */
    COPIUM_PATH_PLUGIN,         /* a C plugin's handler */
    COPIUM_PATH_PYTHON_HANDLER, /* copium.register_handler(type, fn) */
    COPIUM_PATH_OBJECT,         /* the protocol's native object path */
    COPIUM_PATH_DEEPCOPY_PY,    /* __deepcopy__ written in Python */
    COPIUM_PATH_DEEPCOPY_C,     /* __deepcopy__ written in C */
    COPIUM_PATH_DISPATCH,       /* a copy._deepcopy_dispatch function */
    COPIUM_PATH_COPYREG,        /* reduce through copyreg.dispatch_table */
    COPIUM_PATH_REDUCE_EX,      /* reduce through __reduce_ex__(4) */
    COPIUM_PATH_REDUCE,         /* reduce through __reduce__ */
    COPIUM_PATH_PINNED,         /* built from its snapshot (copium.extra.pin) */
    COPIUM_PATH_COUNT
} copium_path;

/* The stable name of a path (what copium.report.Row.path holds). */
const char *copium_path_name(int path);

/* A handler's kind: one of the first six paths (the handlers layer knows which is which). */
typedef int (*copium_explain_classify_fn)(const copium_handler *h);

typedef struct copium_recorder copium_recorder;

/* A new, empty recorder, or NULL with MemoryError. */
copium_recorder *copium_recorder_new(copium_explain_classify_fn classify);
void copium_recorder_free(copium_recorder *rec);

/* Record this thread's copies into rec until copium_explain_end (explain calls nest: the
 * innermost records). core: the state of the interpreter whose copies are recorded (a copy
 * the thread makes meanwhile in another interpreter is not). memo: the memo the explained
 * call is given, or NULL; when it is the dict a call in progress on this thread handed to
 * Python code, that call goes on with it, and is recorded meanwhile. 0, or -1 with an
 * exception set (nothing to end then). */
int copium_explain_begin(struct copium_core *core, copium_recorder *rec, PyObject *memo);
void copium_explain_end(copium_recorder *rec);

/* Is a recorder recording this thread's copies in core's interpreter? (Read on the rare
 * branch of copium_ctx_acquire.) */
int copium_explain_recording(const struct copium_core *core);

/* Count an atom the caller returned without the engine (a top-level atom). 0 or -1. */
int copium_explain_atom(copium_recorder *rec, PyTypeObject *type);

/* The recording, as Python objects: (rows, total_ns, shared, error_path, memo_by). rows: a
 * list of (type, path name, handler name or None, reason or None, count, self_ns, total_ns) in
 * the order first met, but for rows no object ended in; total_ns: the time of the top-level
 * objects' copies, which their self times add up to; shared: objects met again (found in the
 * memo); error_path: the types from the top object to the one whose copy raised last (a
 * tuple), or None; memo_by: the type of the object whose hook (or handler) was the first to be
 * handed the memo, or None. New reference, or NULL. */
PyObject *copium_recorder_result(copium_recorder *rec);

/* ---- the engine's and the handlers' hooks (only while ctx carries COPIUM_OBSERVED_EXPLAIN) -- */

/* copium_deepcopy_child for a recorded call: obj counted, and timed when it is dispatched. */
PyObject *copium_explain_child(copium_ctx *ctx, PyObject *obj, const copium_handler *h);

/* The protocol handler copies obj (the object being dispatched) by path, for reason (a
 * static string naming why, or NULL). */
void copium_explain_noted(copium_ctx *ctx, PyObject *obj, int path, const char *reason);

/* copium_explain_noted when ctx (NULL for a shallow copy) is recorded: a macro, so that the
 * reason is worked out only then. */
#define COPIUM_EXPLAIN_NOTE(ctx, obj, path, reason)                                                \
    do {                                                                                           \
        if ((ctx) != NULL && ((ctx)->memo_observed & COPIUM_OBSERVED_EXPLAIN))                     \
            copium_explain_noted((ctx), (obj), (path), (reason));                                  \
    } while (0)

/* obj's handler left it to the protocol handler (copium_deepcopy_default). */
void copium_explain_deferred(copium_ctx *ctx, PyObject *obj);

/* The call's memo is about to be handed to Python code for the first time (copium_ctx_memo):
 * from then on it is kept as a dict, and handlers make stdlib's exact memo entries. */
void copium_explain_memo_handed(copium_ctx *ctx);

#endif
