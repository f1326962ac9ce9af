/* The recorder of copium.explain (see explain.h): rows, one per (type, path, handler name,
 * reason), found through a small open-addressing index; a stack of frames, one per object
 * being copied, with its start time and the time of its recorded children; and this thread's
 * current recorder. An object's self time is its time less its recorded children's, so the
 * self times add up to the time of the top-level objects; a row's total time adds the times
 * of its outermost objects only (an object inside another of the same row is in that one's
 * time already), so it is never less than the row's self time. Times come from
 * CLOCK_MONOTONIC (a vDSO call, no system call). */
#include "explain.h"

#include <stdint.h>
#include <string.h>
#include <time.h>

#include "compat.h"
#include "engine.h"

static const char *const path_names[COPIUM_PATH_COUNT] = {
    [COPIUM_PATH_ATOM] = "atom",
    [COPIUM_PATH_BUILTIN] = "builtin",
    [COPIUM_PATH_VALUE] = "value-type",
    [COPIUM_PATH_PLUGIN] = "plugin",
    [COPIUM_PATH_PYTHON_HANDLER] = "python-handler",
    [COPIUM_PATH_OBJECT] = "object",
    [COPIUM_PATH_DEEPCOPY_PY] = "deepcopy-python",
    [COPIUM_PATH_DEEPCOPY_C] = "deepcopy-c",
    [COPIUM_PATH_DISPATCH] = "deepcopy-dispatch",
    [COPIUM_PATH_COPYREG] = "reduce-copyreg",
    [COPIUM_PATH_REDUCE_EX] = "reduce-ex",
    [COPIUM_PATH_REDUCE] = "reduce",
    [COPIUM_PATH_PINNED] = "pinned",
};

const char *copium_path_name(int path)
{
    return path >= 0 && path < COPIUM_PATH_COUNT ? path_names[path] : "unknown";
}

/* The paths whose row names the handler. */
static int names_handler(int path)
{
    return path == COPIUM_PATH_BUILTIN || path == COPIUM_PATH_VALUE || path == COPIUM_PATH_PLUGIN ||
           path == COPIUM_PATH_PYTHON_HANDLER;
}

typedef struct {
    PyTypeObject *type; /* strong */
    int path;
    /* The handler's name (a handler path, or the handler that left the object to the
     * protocol), or NULL; compared by address, and kept as a str made with the row, since a
     * name need not outlive its registration. */
    const char *via;
    PyObject *via_str;
    const char *reason; /* static, or NULL */
    Py_ssize_t count;
    int64_t self_ns, total_ns;
    Py_ssize_t active; /* objects of this row on the frame stack */
} row;

typedef struct {
    PyObject *obj; /* borrowed: its caller holds it while it is copied */
    size_t row;    /* index into rows (which may move) */
    int64_t start, below;
    uint64_t serial;
} frame;

struct copium_recorder {
    copium_explain_classify_fn classify;
    row *rows;
    size_t nrows, rows_cap;
    size_t *index; /* row index + 1, 0 for an empty slot */
    size_t index_cap;
    size_t last_atom; /* row index + 1 of the last atom counted, 0 for none */
    frame *frames;
    size_t depth, frames_cap;
    uint64_t serials;
    int64_t total_ns;
    Py_ssize_t shared;
    /* The frames from the top object to the last one whose copy failed, while that failure
     * goes up the stack: their serials, and their types (a list). */
    uint64_t *error_serials;
    size_t error_depth, error_cap;
    PyObject *error_types;
    PyObject *memo_by; /* see copium_recorder_result */
    /* copium_explain_begin / end */
    copium_recorder *outer;
    copium_ctx *held;
    copium_ctx *marked;
};

/* The recorder of this thread's copies, set only while copium.explain runs on the thread
 * (the call owns the recorder). */
static _Thread_local copium_recorder *recording;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

copium_recorder *copium_recorder_new(copium_explain_classify_fn classify)
{
    copium_recorder *rec = PyMem_Calloc(1, sizeof(*rec));
    if (rec == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    rec->classify = classify;
    return rec;
}

static void clear_error_path(copium_recorder *rec)
{
    rec->error_depth = 0;
    Py_CLEAR(rec->error_types);
}

void copium_recorder_free(copium_recorder *rec)
{
    if (rec == NULL)
        return;
    for (size_t i = 0; i < rec->nrows; i++) {
        Py_DECREF(rec->rows[i].type);
        Py_XDECREF(rec->rows[i].via_str);
    }
    clear_error_path(rec);
    Py_XDECREF(rec->memo_by);
    PyMem_Free(rec->rows);
    PyMem_Free(rec->index);
    PyMem_Free(rec->frames);
    PyMem_Free(rec->error_serials);
    PyMem_Free(rec);
}

/* ---- rows -------------------------------------------------------------------------------- */

static size_t key_hash(PyTypeObject *type, int path, const char *via, const char *reason)
{
    uint64_t h = (uint64_t)(uintptr_t)type * 0x9E3779B97F4A7C15ULL;
    h ^= ((uint64_t)(uintptr_t)via + (uint64_t)path) * 0xC2B2AE3D27D4EB4FULL;
    h ^= (uint64_t)(uintptr_t)reason * 0x165667B19E3779F9ULL;
    return (size_t)(h ^ (h >> 29));
}

/* Put row i into the index (which has room). */
static void index_put(copium_recorder *rec, size_t i)
{
    const row *r = &rec->rows[i];
    size_t mask = rec->index_cap - 1;
    size_t at = key_hash(r->type, r->path, r->via, r->reason) & mask;
    while (rec->index[at] != 0)
        at = (at + 1) & mask;
    rec->index[at] = i + 1;
}

/* Room for one more row: the rows array and an index at most half full. 0 or -1. */
static int make_room(copium_recorder *rec)
{
    if (rec->nrows == rec->rows_cap) {
        size_t cap = rec->rows_cap ? rec->rows_cap * 2 : 16;
        row *rows = PyMem_Realloc(rec->rows, cap * sizeof(row));
        if (rows == NULL)
            goto nomem;
        rec->rows = rows;
        rec->rows_cap = cap;
    }
    if ((rec->nrows + 1) * 2 > rec->index_cap) {
        size_t cap = rec->index_cap ? rec->index_cap * 2 : 64;
        size_t *index = PyMem_Calloc(cap, sizeof(size_t));
        if (index == NULL)
            goto nomem;
        PyMem_Free(rec->index);
        rec->index = index;
        rec->index_cap = cap;
        for (size_t i = 0; i < rec->nrows; i++)
            index_put(rec, i);
    }
    return 0;
nomem:
    PyErr_NoMemory();
    return -1;
}

/* The index of the row for the key, made if need be; -1 with an exception set. */
static Py_ssize_t row_of(copium_recorder *rec, PyTypeObject *type, int path, const char *via,
                         const char *reason)
{
    if (rec->index_cap != 0) {
        size_t mask = rec->index_cap - 1;
        for (size_t at = key_hash(type, path, via, reason) & mask; rec->index[at] != 0;
             at = (at + 1) & mask) {
            const row *r = &rec->rows[rec->index[at] - 1];
            if (r->type == type && r->path == path && r->via == via && r->reason == reason)
                return (Py_ssize_t)(rec->index[at] - 1);
        }
    }
    PyObject *via_str = NULL;
    if (via != NULL && (via_str = PyUnicode_DecodeUTF8(via, strlen(via), "replace")) == NULL)
        return -1;
    if (make_room(rec) < 0) {
        Py_XDECREF(via_str);
        return -1;
    }
    size_t i = rec->nrows++;
    rec->rows[i] = (row){.type = (PyTypeObject *)Py_NewRef(type),
                         .path = path,
                         .via = via,
                         .via_str = via_str,
                         .reason = reason};
    index_put(rec, i);
    return (Py_ssize_t)i;
}

static int count_atom(copium_recorder *rec, PyTypeObject *type)
{
    /* The children of one container are mostly of one type. */
    if (rec->last_atom == 0 || rec->rows[rec->last_atom - 1].type != type) {
        Py_ssize_t r = row_of(rec, type, COPIUM_PATH_ATOM, NULL, NULL);
        if (r < 0)
            return -1;
        rec->last_atom = (size_t)r + 1;
    }
    rec->rows[rec->last_atom - 1].count++;
    return 0;
}

int copium_explain_atom(copium_recorder *rec, PyTypeObject *type)
{
    return count_atom(rec, type);
}

/* ---- frames ------------------------------------------------------------------------------ */

static int push(copium_recorder *rec, PyObject *obj, const copium_handler *h)
{
    int path = rec->classify(h);
    Py_ssize_t r = row_of(rec, Py_TYPE(obj), path, names_handler(path) ? h->name : NULL, NULL);
    if (r < 0)
        return -1;
    if (rec->depth == rec->frames_cap) {
        size_t cap = rec->frames_cap ? rec->frames_cap * 2 : 64;
        frame *frames = PyMem_Realloc(rec->frames, cap * sizeof(frame));
        if (frames == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        rec->frames = frames;
        rec->frames_cap = cap;
    }
    frame *f = &rec->frames[rec->depth++];
    f->obj = obj;
    f->row = (size_t)r;
    f->below = 0;
    f->serial = ++rec->serials;
    rec->rows[r].active++;
    f->start = now_ns();
    return 0;
}

/* The failure of frame f (at index d, just popped) going up the stack continues the recorded
 * path; a failure elsewhere starts a new one; a frame of the path that succeeds (a hook caught
 * the error) ends it. Never raises: a path that cannot be recorded is left out. */
static void track_error(copium_recorder *rec, size_t d, uint64_t serial, int failed)
{
    int on_path = rec->error_depth > d && rec->error_serials[d] == serial;
    if (!failed) {
        if (on_path)
            clear_error_path(rec);
        return;
    }
    if (on_path)
        return;
    clear_error_path(rec);
    PyObject *exc = copium_err_take();
    if (d + 1 > rec->error_cap) {
        uint64_t *serials = PyMem_Realloc(rec->error_serials, (d + 1) * sizeof(uint64_t));
        if (serials == NULL)
            goto done;
        rec->error_serials = serials;
        rec->error_cap = d + 1;
    }
    PyObject *types = PyList_New((Py_ssize_t)d + 1);
    if (types == NULL)
        goto done;
    for (size_t i = 0; i <= d; i++) {
        rec->error_serials[i] = rec->frames[i].serial;
        PyList_SET_ITEM(types, (Py_ssize_t)i, Py_NewRef((PyObject *)Py_TYPE(rec->frames[i].obj)));
    }
    rec->error_types = types;
    rec->error_depth = d + 1;
done:
    PyErr_Clear();
    copium_err_give(exc);
}

static PyObject *pop(copium_recorder *rec, PyObject *copy)
{
    int64_t end = now_ns();
    size_t d = --rec->depth;
    const frame *f = &rec->frames[d];
    int64_t total = end - f->start;
    row *r = &rec->rows[f->row];
    r->count++;
    r->self_ns += total - f->below;
    if (--r->active == 0)
        r->total_ns += total;
    if (d > 0)
        rec->frames[d - 1].below += total;
    else
        rec->total_ns += total;
    track_error(rec, d, f->serial, copy == NULL);
    return copy;
}

/* ---- the hooks --------------------------------------------------------------------------- */

int copium_explain_recording(const copium_core *core)
{
    return recording != NULL && recording->held->core == core;
}

PyObject *copium_explain_child(copium_ctx *ctx, PyObject *obj, const copium_handler *h)
{
    copium_recorder *rec = recording;
    copium_hash_t hash;
    PyObject *copy;
    if (copium_child_route(ctx, obj, &h, &hash, &copy)) {
        if (rec == NULL || copy == NULL)
            return copy;
        if (copy == obj && (h->flags & COPIUM_HANDLER_ATOMIC)) {
            if (count_atom(rec, Py_TYPE(obj)) < 0)
                Py_CLEAR(copy);
        } else {
            rec->shared++;
        }
        return copy;
    }
    if (rec == NULL)
        return copium_dispatch(ctx, obj, h, hash);
    if (push(rec, obj, h) < 0)
        return NULL;
    return pop(rec, copium_dispatch(ctx, obj, h, hash));
}

/* Attribute the innermost frame, when it is obj's, to (path, via, reason). A row that cannot
 * be made leaves the frame where it was (the report is then less precise, never wrong about
 * counts or times). */
static void attribute(PyObject *obj, int path, const char *reason, int deferred)
{
    copium_recorder *rec = recording;
    if (rec == NULL || rec->depth == 0 || rec->frames[rec->depth - 1].obj != obj)
        return;
    frame *f = &rec->frames[rec->depth - 1];
    const row *old = &rec->rows[f->row];
    /* The handler that left obj to the protocol stays named in the row. */
    const char *via = deferred ? (names_handler(old->path) ? old->via : NULL)
                               : (old->path == COPIUM_PATH_OBJECT ? old->via : NULL);
    PyObject *exc = copium_err_take();
    Py_ssize_t r = row_of(rec, old->type, path, via, reason);
    if (r < 0) {
        PyErr_Clear();
    } else {
        rec->rows[f->row].active--;
        f->row = (size_t)r;
        rec->rows[r].active++;
    }
    copium_err_give(exc);
}

void copium_explain_noted(copium_ctx *ctx, PyObject *obj, int path, const char *reason)
{
    (void)ctx;
    attribute(obj, path, reason, 0);
}

void copium_explain_deferred(copium_ctx *ctx, PyObject *obj)
{
    (void)ctx;
    attribute(obj, COPIUM_PATH_OBJECT, NULL, 1);
}

void copium_explain_memo_handed(copium_ctx *ctx)
{
    (void)ctx;
    copium_recorder *rec = recording;
    if (rec != NULL && rec->memo_by == NULL && rec->depth > 0)
        rec->memo_by = Py_NewRef((PyObject *)Py_TYPE(rec->frames[rec->depth - 1].obj));
}

/* ---- begin, end, result ------------------------------------------------------------------ */

int copium_explain_begin(copium_core *core, copium_recorder *rec, PyObject *memo)
{
    /* Held, the thread's reusable context makes every call from now on take a context of its
     * own, which copium_ctx_acquire flags while this thread is recorded. */
    rec->held = copium_ctx_acquire(core);
    if (rec->held == NULL)
        return -1;
    rec->outer = recording;
    recording = rec;
    rec->marked = NULL;
    copium_ctx *ctx = memo != NULL && PyDict_CheckExact(memo) ? copium_ctx_mirroring(memo) : NULL;
    if (ctx != NULL && !(ctx->memo_observed & COPIUM_OBSERVED_EXPLAIN)) {
        ctx->memo_observed |= COPIUM_OBSERVED_EXPLAIN;
        rec->marked = ctx;
    }
    return 0;
}

void copium_explain_end(copium_recorder *rec)
{
    if (rec->marked != NULL) {
        rec->marked->memo_observed &= ~COPIUM_OBSERVED_EXPLAIN;
        rec->marked = NULL;
    }
    recording = rec->outer;
    rec->outer = NULL;
    copium_ctx_release(rec->held);
    rec->held = NULL;
}

static PyObject *str_or_none(const char *s)
{
    return s != NULL ? PyUnicode_FromString(s) : Py_NewRef(Py_None);
}

static PyObject *row_tuple(const row *r)
{
    PyObject *items[7] = {
        Py_NewRef((PyObject *)r->type),
        PyUnicode_FromString(copium_path_name(r->path)),
        Py_NewRef(r->via_str != NULL ? r->via_str : Py_None),
        str_or_none(r->reason),
        PyLong_FromSsize_t(r->count),
        PyLong_FromLongLong(r->self_ns),
        PyLong_FromLongLong(r->total_ns),
    };
    PyObject *t = NULL;
    for (int i = 0; i < 7; i++) {
        if (items[i] == NULL)
            goto done;
    }
    t = PyTuple_New(7);
    if (t == NULL)
        goto done;
    for (int i = 0; i < 7; i++) {
        PyTuple_SET_ITEM(t, i, items[i]);
        items[i] = NULL;
    }
done:
    for (int i = 0; i < 7; i++)
        Py_XDECREF(items[i]);
    return t;
}

PyObject *copium_recorder_result(copium_recorder *rec)
{
    PyObject *rows = PyList_New(0), *total = NULL, *shared = NULL, *path = NULL, *result = NULL;
    if (rows == NULL)
        return NULL;
    for (size_t i = 0; i < rec->nrows; i++) {
        /* A row whose objects all moved to another (the protocol noted its path) is empty. */
        if (rec->rows[i].count == 0)
            continue;
        PyObject *t = row_tuple(&rec->rows[i]);
        int rc = t != NULL ? PyList_Append(rows, t) : -1;
        Py_XDECREF(t);
        if (rc < 0)
            goto done;
    }
    total = PyLong_FromLongLong(rec->total_ns);
    shared = PyLong_FromSsize_t(rec->shared);
    path = rec->error_types != NULL ? PyList_AsTuple(rec->error_types) : Py_NewRef(Py_None);
    if (total != NULL && shared != NULL && path != NULL)
        result = PyTuple_Pack(5, rows, total, shared, path,
                              rec->memo_by != NULL ? rec->memo_by : Py_None);
done:
    Py_DECREF(rows);
    Py_XDECREF(total);
    Py_XDECREF(shared);
    Py_XDECREF(path);
    return result;
}
