/* The plan of a deep copy (see plan.h): recording, building, and what connects native parts
 * with engine parts.
 *
 * A plan is a list of nodes, one per object a copy creates, in the order the engine creates
 * them: a list, dict or instance when it is memoized (before its items), a tuple, set,
 * frozenset, bytearray, value or engine part once its items are copied. A node's items are
 * refs: a ref >= 0 names a node (the copy of that original within the same copy), a ref < 0
 * names a constant (an object every copy shares: an atom, a tuple whose items all copy to
 * themselves, a type, a source). The ops list the steps in the engine's order: each node's
 * creation, and for lists, dicts and instances the filling once their items exist (at the end
 * of their items, so that a hash or a hook sees complete objects as in stdlib; and, before a
 * part that may run Python code, the items its ancestors hold by then, which is what stdlib's
 * partial copies hold at that point). A list, dict or instance that nothing reaches before it
 * is complete is made in one step when its items exist. Nothing is hashed while building but
 * dict keys and set elements, which any dict or set must hash; a dict whose keys are all
 * constants is a clone of a template holding those keys (a copy of a hash table, no hashing),
 * its values written in; a dict or list of constants is a clone of a template holding them
 * (as the engine's copy of such a dict is a clone of the original).
 *
 * Engine parts. Recording copies an engine part with the engine, in a context (the "first
 * build") whose memo holds the copies of every native part made so far, so that the part sees
 * what stdlib's memo would hold; the native parts are built into it from the ops recorded so
 * far just before. What the part copied stays in that memo: when recording meets such an
 * object later, it is an engine ref (a node whose build asks the build's engine memo, where
 * the part's copy in that build is found). A snapshot keeps each engine part's copy from the
 * first build as the source that later builds copy (a private copy, which nothing else
 * holds); a replicate plan keeps the originals. The native parts an engine part's source can
 * reach are seeded into the build's memo when they are made (found by following the
 * collector's references from the sources, through the types whose traversal reaches every
 * reference; when something else is in the way, every native part made before the last engine
 * part is seeded). */
#include "plan.h"

#include <stdint.h>
#include <string.h>

#include "../core/compat.h"
#include "../core/context.h"
#include "../core/engine.h"
#include "../core/guard.h"
#include "../core/hash.h"
#include "../core/keepalive.h"
#include "../core/listbuild.h"
#include "../core/memo.h"
#include "../core/registry.h"
#include "../handlers/chash.h"
#include "../handlers/dict_table.h"
#include "../handlers/handlers.h"
#include "../handlers/dictiter.h"
#include "../protocol/generic.h"
#include "../protocol/object.h"
#include "../protocol/stdlib.h"
#include "../protocol/uuid.h"
#include "batch.h"
#include "pins.h"

enum {
    K_LIST,
    K_DICT,
    K_TUPLE,
    K_SET,
    K_FROZENSET,
    K_BYTEARRAY,
    K_OBJECT,
    K_VALUE,
    K_PINNED,
    K_ENGINE,
    K_COUNT
};

static const char *const kind_names[K_COUNT] = {
    "list", "dict", "tuple", "set", "frozenset", "bytearray", "object", "value", "pinned", "engine",
};

#define F_SEED    0x1  /* its copy goes into the build's engine memo when it is made */
#define F_PARTIAL 0x2  /* a dict filled in several steps: built by insertion */
#define F_OPEN    0x4  /* recording: its items are being recorded */
#define F_EARLY   0x8  /* recording: reached (a cycle, an engine part) before it is complete */
#define F_LEAF    0x10 /* a list or dict of constants: a copy of its template (aux) is its copy */
#define F_QUIET   0x20 /* an engine part whose handler is COPIUM_HANDLER_RECORDABLE */

typedef int32_t ref_t;
/* rec()'s two answers that are not refs. Constants are ~index, never as low as these. */
#define REF_ERROR     INT32_MIN
#define REF_DECLINE   (INT32_MIN + 1)
#define REF_FAILED(r) ((r) <= REF_DECLINE)
#define MAX_ITEMS     (INT32_MAX / 2)
/* A ref to a node whose copy has no other use in a build (see mark_moves) carries this bit:
 * the container that holds the copy takes the build's own reference to it. */
#define REF_MOVE ((ref_t)1 << 30)

typedef struct {
    uint8_t kind, flags;
    uint16_t sub;  /* K_VALUE: index in rebuilds */
    int32_t aux;   /* DICT: template or -1; OBJECT: layout; BYTEARRAY, VALUE, PINNED, ENGINE:
                    * the constant holding the source */
    int32_t n;     /* refs: items; a dict's are its keys, then its values; an instance's its
                    * values */
    int32_t items; /* the first ref */
} node_t;

typedef struct {
    /* The keys in order, each with None, a placeholder that each build overwrites (an object
     * per entry instead, or the key itself, measured no faster on 3.11 or 3.13). */
    PyObject *dict;
    int32_t node; /* the first node that uses it (its keys are the template's) */
    /* Where a clone's values are: value j at its keys object + value_offset + j * stride
     * (checked on a clone when the template was made); stride 0: not known, insert. */
    Py_ssize_t value_offset, stride;
    int leaf; /* the values are the constants themselves: a clone is complete */
} template_t;

enum { ROUTE_VALUES, ROUTE_STATE };

/* An instance's layout: its type, its __dict__ keys (constants) and how the copy receives
 * them (ROUTE_VALUES: setattr into its own storage, while the type's version tag says no data
 * descriptor was added since; ROUTE_STATE: a state dict merged into its __dict__), then its
 * slots by field offset. Shared by instances alike. */
typedef struct {
    PyTypeObject *type; /* also a constant */
    unsigned int version;
    int32_t route, nkeys, keys, nslots, offsets;
} layout_t;

/* Op words: node << 5 | opcode; a range fill is followed by two words, from and to. A list,
 * dict or instance that nothing reaches before it is complete (no cycle back to it, no engine
 * part among its items) is made in one op once its items exist; the others are made first
 * and filled after. */
enum {
    OP_NOP, /* only while recording */
    OP_LIST,
    OP_DICT,
    OP_OBJECT,
    OP_FILL_LIST,
    OP_FILL_DICT,
    OP_FILL_OBJECT,
    OP_FILL_RANGE, /* a list's or a dict's items from, to */
    OP_MAKE_LIST,
    OP_MAKE_DICT,
    OP_MAKE_OBJECT,
    OP_TUPLE,
    OP_SET,
    OP_FROZENSET,
    OP_BYTEARRAY,
    OP_VALUE,
    OP_PINNED,
    OP_ENGINE,
};
#define OP_BITS  5
#define OP_MASK  ((1u << OP_BITS) - 1)
#define MAX_NODE ((int32_t)(UINT32_MAX >> OP_BITS))
_Static_assert(MAX_NODE < REF_MOVE, "a node's index is below the move bit");

static const uint8_t create_op[K_COUNT] = {
    [K_LIST] = OP_LIST,     [K_DICT] = OP_DICT,           [K_TUPLE] = OP_TUPLE,
    [K_SET] = OP_SET,       [K_FROZENSET] = OP_FROZENSET, [K_BYTEARRAY] = OP_BYTEARRAY,
    [K_OBJECT] = OP_OBJECT, [K_VALUE] = OP_VALUE,         [K_PINNED] = OP_PINNED,
    [K_ENGINE] = OP_ENGINE,
};

struct copium_plan {
    copium_batch_state *bs; /* the interpreter's batch state (and through it, the core's) */
    node_t *nodes;
    int32_t nnodes, cap_nodes;
    ref_t *refs;
    int32_t nrefs, cap_refs;
    PyObject **consts; /* strong references */
    int32_t nconsts, cap_consts;
    uint32_t *ops;
    int32_t nops, cap_ops;
    template_t *templates;
    int32_t ntemplates, cap_templates;
    layout_t *layouts;
    int32_t nlayouts, cap_layouts;
    ref_t *keypool; /* layouts' keys */
    int32_t nkeypool, cap_keypool;
    Py_ssize_t *offpool; /* layouts' slot offsets */
    int32_t noffpool, cap_offpool;
    copium_rebuild_fn rebuilds[8];
    int32_t nrebuilds;
    int32_t *seed_keys; /* per node: the constant its copy is memoized under, or NULL */
    PyObject **spare;   /* a build's objs buffer not in use (constants filled in), or NULL */
    int32_t nseeds;
    int seeds_precise;
    int32_t nengine, npinned;
    ref_t root;
    int quiet;
};

static int grow(void **array, int32_t *cap, int64_t need, size_t elsize)
{
    if (need <= *cap)
        return 0;
    int64_t new_cap = *cap ? *cap : 16;
    while (new_cap < need)
        new_cap *= 2;
    if (new_cap > INT32_MAX || (size_t)new_cap > PY_SSIZE_T_MAX / elsize) {
        PyErr_NoMemory();
        return -1;
    }
    void *p = PyMem_Realloc(*array, (size_t)new_cap * elsize);
    if (p == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    *array = p;
    *cap = (int32_t)new_cap;
    return 0;
}

/* ---- building ------------------------------------------------------------------------- */

/* A build's objects: objs[i] is node i's copy (strong, once made), and objs[~c] (a negative
 * index) the constant c (borrowed from the plan), so that a ref is an index whatever it
 * names. */
typedef struct {
    copium_plan *p;
    PyObject **objs;
    copium_ctx *ctx;        /* the engine context of a plan with engine parts */
    int32_t pos;            /* the next op */
    int first;              /* the build made while recording */
    PyObject *const *origs; /* the first build: each node's original, its memo key */
} build_t;

/* The memo an engine part sees: in the first build every native part (what stdlib's memo
 * holds), in later builds the parts an engine part's source can reach. */
static int seed(build_t *b, const node_t *nd, int32_t i, PyObject *o)
{
    if (!b->first && !(nd->flags & F_SEED))
        return 0;
    PyObject *key = b->first ? b->origs[i] : b->p->consts[b->p->seed_keys[i]];
    return copium_memo_remember(b->ctx, key, copium_hash_ptr(key), o);
}

/* A new reference to what ref names, for a container to hold: a moved node's copy is handed
 * over (its slot emptied, so that the build does not release it), anything else shared. */
static inline PyObject *take(PyObject **objs, ref_t r)
{
    if (r >= REF_MOVE) {
        PyObject *o = objs[r - REF_MOVE];
        objs[r - REF_MOVE] = NULL;
        return o;
    }
    return Py_NewRef(objs[r]);
}

/* store(into, key, value) for the value ref names, store being a call that takes its own
 * reference (PyDict_SetItem, PyObject_GenericSetAttr): it is lent the value, a moved node's
 * copy with the build's reference, released after the call. 0, or -1 with an exception. */
static inline int store_ref(int (*store)(PyObject *, PyObject *, PyObject *), PyObject *into,
                            PyObject *key, PyObject **objs, ref_t r)
{
    if (r < REF_MOVE)
        return store(into, key, objs[r]);
    PyObject *value = take(objs, r);
    int rc = store(into, key, value);
    Py_DECREF(value);
    return rc;
}

static PyObject *new_dict(const build_t *b, const node_t *nd)
{
    if (b->first || nd->aux < 0)
        return PyDict_New();
    PyObject *o = PyDict_Copy(b->p->templates[nd->aux].dict);
    /* A clone is tracked by the collector only when its template is, and the collector stops
     * tracking a dict that holds no container (the templates): its values, written in place,
     * may make it part of a cycle. */
    if (o != NULL && !(nd->flags & F_LEAF) && !PyObject_GC_IsTracked(o))
        PyObject_GC_Track(o);
    return o;
}

static int fill_list(const build_t *b, const node_t *nd, PyObject *o, int32_t from, int32_t to)
{
    PyListObject *list = (PyListObject *)o;
    const ref_t *refs = b->p->refs + nd->items;
    PyObject **objs = b->objs;
    if (Py_SIZE(list) == from && list->allocated >= to) {
        /* Within the room the list was made with: written in, the size set once. */
        for (int32_t j = from; j < to; j++)
            list->ob_item[j] = take(objs, refs[j]);
        Py_SET_SIZE(list, to);
        return 0;
    }
    for (int32_t j = from; j < to; j++) {
        if (copium_list_append_steal(o, take(objs, refs[j])) < 0)
            return -1;
    }
    return 0;
}

static int fill_dict(const build_t *b, const node_t *nd, PyObject *o, int32_t from, int32_t to)
{
    const ref_t *keys = b->p->refs + nd->items, *values = keys + nd->n / 2;
    PyObject **objs = b->objs;
    if (!b->first && nd->aux >= 0) {
        if (nd->flags & F_LEAF)
            return 0; /* a clone of its template, complete */
        const template_t *t = &b->p->templates[nd->aux];
        if (t->stride > 0) {
            /* A clone of the template: its entries are the template's, in the keys' order, at
             * the same place in its keys object; the values are written over the placeholders
             * (the copy is new: nothing else sees it). */
            Py_ssize_t stride = t->stride;
            char *slot = (char *)((PyDictObject *)o)->ma_keys + t->value_offset + from * stride;
            for (int32_t j = from; j < to; j++, slot += stride) {
                PyObject *old = *(PyObject **)slot;
                *(PyObject **)slot = take(objs, values[j]);
                Py_DECREF(old);
            }
            return 0;
        }
    }
    for (int32_t j = from; j < to; j++) {
        if (store_ref(PyDict_SetItem, o, objs[keys[j]], objs, values[j]) < 0)
            return -1;
    }
    return 0;
}

/* The instance's __dict__ and slots, as the native object path sets them. */
static int fill_object(const build_t *b, const node_t *nd, PyObject *y)
{
    copium_plan *p = b->p;
    const layout_t *L = &p->layouts[nd->aux];
    const ref_t *values = p->refs + nd->items;
    const ref_t *keys = p->keypool + L->keys;
    PyObject **objs = b->objs;
    if (L->nkeys > 0) {
        /* setattr stores into the instance's own values (no dict object made) exactly as it
         * would into its dict: while the type has no data descriptor of those names, which
         * the unchanged version tag guarantees. */
        if (L->route == ROUTE_VALUES && L->version != 0 &&
            copium_type_version(L->type) == L->version) {
            for (int32_t j = 0; j < L->nkeys; j++) {
                if (store_ref(PyObject_GenericSetAttr, y, objs[keys[j]], objs, values[j]) < 0)
                    return -1;
            }
        } else {
            /* `y.__dict__.update(state)` with the state built by insertion. */
            PyObject *state = PyDict_New();
            if (state == NULL)
                return -1;
            int rc = 0;
            for (int32_t j = 0; rc == 0 && j < L->nkeys; j++)
                rc = store_ref(PyDict_SetItem, state, objs[keys[j]], objs, values[j]);
            PyObject *ydict = rc == 0 ? PyObject_GenericGetDict(y, NULL) : NULL;
            if (ydict != NULL) {
                rc = PyDict_Update(ydict, state);
                Py_DECREF(ydict);
            } else {
                rc = -1;
            }
            Py_DECREF(state);
            if (rc < 0)
                return -1;
        }
    }
    const Py_ssize_t *offsets = p->offpool + L->offsets;
    for (int32_t j = 0; j < L->nslots; j++) {
        /* What the member descriptor's setter does (the layout is the type's own). */
        PyObject **field = (PyObject **)((char *)y + offsets[j]);
        Py_XSETREF(*field, take(objs, values[L->nkeys + j]));
    }
    return 0;
}

/* Run the ops up to (not including) end. */
static int run(build_t *b, int32_t end)
{
    copium_plan *p = b->p;
    const uint32_t *ops = p->ops;
    PyObject **objs = b->objs;
    int32_t pos = b->pos;
    while (pos < end) {
        uint32_t op = ops[pos++];
        int32_t i = (int32_t)(op >> OP_BITS);
        const node_t *nd = &p->nodes[i];
        const ref_t *refs = p->refs + nd->items;
        PyObject *o;
        switch (op & OP_MASK) {
        case OP_NOP:
            continue;
        case OP_LIST:
            o = copium_list_presized(nd->n);
            break;
        case OP_DICT:
            o = new_dict(b, nd);
            break;
        case OP_OBJECT:
            /* object.__new__(cls), as copyreg.__newobj__ calls it (the type's tp_new is
             * object's: checked when it was recorded, and a class cannot change it). */
            o = PyBaseObject_Type.tp_new(p->layouts[nd->aux].type, p->bs->proto->stdlib.empty_tuple,
                                         NULL);
            break;
        case OP_FILL_LIST:
            if (fill_list(b, nd, objs[i], 0, nd->n) < 0)
                goto fail;
            continue;
        case OP_FILL_DICT:
            if (fill_dict(b, nd, objs[i], 0, nd->n / 2) < 0)
                goto fail;
            continue;
        case OP_FILL_OBJECT:
            if (fill_object(b, nd, objs[i]) < 0)
                goto fail;
            continue;
        case OP_FILL_RANGE: {
            int32_t from = (int32_t)ops[pos], to = (int32_t)ops[pos + 1];
            pos += 2;
            if ((nd->kind == K_LIST ? fill_list(b, nd, objs[i], from, to)
                                    : fill_dict(b, nd, objs[i], from, to)) < 0)
                goto fail;
            continue;
        }
        case OP_MAKE_LIST:
            o = copium_list_presized(nd->n);
            if (o == NULL)
                break;
            if ((nd->flags & F_LEAF) && !b->first) {
                /* The items of its template, a tuple of the constants. */
                PyObject *const *items = ((PyTupleObject *)p->consts[nd->aux])->ob_item;
                PyListObject *list = (PyListObject *)o;
                for (int32_t j = 0; j < nd->n; j++)
                    list->ob_item[j] = Py_NewRef(items[j]);
                Py_SET_SIZE(list, nd->n);
            } else if (fill_list(b, nd, o, 0, nd->n) < 0) {
                Py_CLEAR(o);
            }
            break;
        case OP_MAKE_DICT:
            if ((nd->flags & F_LEAF) && !b->first) { /* a clone of its template, complete */
                o = PyDict_Copy(p->templates[nd->aux].dict);
                break;
            }
            o = new_dict(b, nd);
            if (o != NULL && fill_dict(b, nd, o, 0, nd->n / 2) < 0)
                Py_CLEAR(o);
            break;
        case OP_MAKE_OBJECT:
            o = PyBaseObject_Type.tp_new(p->layouts[nd->aux].type, p->bs->proto->stdlib.empty_tuple,
                                         NULL);
            if (o != NULL && fill_object(b, nd, o) < 0)
                Py_CLEAR(o);
            break;
        case OP_TUPLE:
            o = PyTuple_New(nd->n);
            if (o != NULL) {
                for (int32_t j = 0; j < nd->n; j++)
                    PyTuple_SET_ITEM(o, j, take(objs, refs[j]));
            }
            break;
        case OP_SET:
        case OP_FROZENSET:
            o = nd->kind == K_SET ? PySet_New(NULL) : PyFrozenSet_New(NULL);
            for (int32_t j = 0; o != NULL && j < nd->n; j++) {
                if (PySet_Add(o, objs[refs[j]]) < 0)
                    Py_CLEAR(o);
            }
            break;
        case OP_BYTEARRAY: {
            PyObject *src = p->consts[nd->aux];
            o = PyByteArray_FromStringAndSize(PyBytes_AS_STRING(src), PyBytes_GET_SIZE(src));
            break;
        }
        case OP_VALUE:
            o = p->rebuilds[nd->sub](&p->bs->proto->handlers, p->consts[nd->aux],
                                     nd->n > 0 ? objs[refs[0]] : NULL);
            break;
        case OP_PINNED:
            o = copium_pin_build(p->consts[nd->aux]);
            break;
        default: /* OP_ENGINE; in the first build, made already by recording */
            if (objs[i] != NULL)
                continue;
            o = copium_deepcopy_child(b->ctx, p->consts[nd->aux]);
            if (o == NULL)
                goto fail;
            objs[i] = o;
            continue;
        }
        if (o == NULL)
            goto fail;
        objs[i] = o;
        if (b->ctx != NULL && seed(b, nd, i, o) < 0)
            goto fail;
    }
    b->pos = pos;
    return 0;
fail:
    b->pos = pos;
    return -1;
}

static void clear_nodes(PyObject **objs, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
        Py_CLEAR(objs[i]);
}

PyObject *copium_plan_build(copium_plan *p)
{
    if (p->root < 0)
        return Py_NewRef(p->consts[~p->root]);
    /* The buffer of the last build, when no other build holds it (a build may run Python code
     * that builds the same plan, or another thread may); else a new one. */
    PyObject **buf = p->spare;
    p->spare = NULL;
    if (buf == NULL) {
        buf = PyMem_New(PyObject *, (size_t)p->nconsts + (size_t)p->nnodes);
        if (buf == NULL)
            return PyErr_NoMemory();
        for (int32_t c = 0; c < p->nconsts; c++)
            buf[p->nconsts - 1 - c] = p->consts[c];
        memset(buf + p->nconsts, 0, (size_t)p->nnodes * sizeof(PyObject *));
    }
    build_t b = {.p = p, .objs = buf + p->nconsts};
    PyObject *result = NULL;
    if (p->nengine > 0) {
        if (copium_handlers_sync(p->bs->proto) < 0)
            goto done;
        b.ctx = copium_ctx_acquire(p->bs->core);
        if (b.ctx == NULL)
            goto done;
    }
    /* A build that runs no Python code keeps the cyclic collector paused: it would only
     * traverse, again and again, new objects that are all reachable. It runs as usual right
     * after, on all of them at once. */
    int paused = p->quiet ? PyGC_Disable() : 0;
    int rc = run(&b, p->nops);
    if (paused)
        PyGC_Enable();
    if (rc == 0)
        result = Py_NewRef(b.objs[p->root]);
done:
    clear_nodes(b.objs, p->nnodes);
    if (b.ctx != NULL) {
        copium_gc_resume(&p->bs->core->gc);
        copium_ctx_release(b.ctx);
    }
#ifndef Py_GIL_DISABLED
    if (p->spare == NULL) {
        p->spare = buf;
        buf = NULL;
    }
#endif
    PyMem_Free(buf);
    return result;
}

/* ---- recording ------------------------------------------------------------------------ */

/* A list, dict or instance whose items are being recorded, innermost first. */
typedef struct frame {
    struct frame *outer;
    int32_t node;
    int32_t create_op; /* where its creation op is */
    int32_t done;      /* items recorded completely */
    int32_t filled;    /* items a range fill already made (before an engine part) */
    int partial;       /* range fills apply: a list or a dict */
} frame_t;

typedef struct {
    copium_batch_state *bs;
    copium_plan *p;
    copium_plan_mode mode;
    PyObject *unpinned;
    copium_memo memo;      /* original -> its node */
    copium_memo const_of;  /* object -> its constant */
    copium_memo content;   /* content hash -> template or layout */
    copium_keepalive keep; /* the originals the maps name, alive while recording */
    copium_guard guard;
    frame_t *frames;
    PyObject **origs; /* per node, its original (borrowed from keep) */
    int32_t cap_origs;
    build_t b0;         /* the first build, from the first engine part on */
    PyObject **b0_base; /* its objs buffer: b0_ccap constants, then b0_ncap nodes */
    int32_t b0_ccap, b0_ncap, b0_cfilled;
    int32_t last_engine; /* the last engine part's node, or -1 */
} recorder;

static int b0_fit(recorder *r);

static ref_t add_const(recorder *r, PyObject *obj)
{
    copium_plan *p = r->p;
    copium_hash_t hash = copium_hash_ptr(obj);
    Py_ssize_t found = copium_memo_lookup_index(&r->const_of, obj, hash);
    if (found >= 0)
        return ~(ref_t)found;
    if (grow((void **)&p->consts, &p->cap_consts, (int64_t)p->nconsts + 1, sizeof(PyObject *)) <
            0 ||
        copium_memo_insert_index(&r->const_of, obj, hash, p->nconsts) < 0)
        return REF_ERROR;
    p->consts[p->nconsts] = Py_NewRef(obj);
    return ~p->nconsts++;
}

/* A constant that is not shared with others (a source made for one node). Steals obj. */
static int32_t add_source(recorder *r, PyObject *obj)
{
    copium_plan *p = r->p;
    if (grow((void **)&p->consts, &p->cap_consts, (int64_t)p->nconsts + 1, sizeof(PyObject *)) <
        0) {
        Py_DECREF(obj);
        return -1;
    }
    p->consts[p->nconsts] = obj;
    return p->nconsts++;
}

static int32_t reserve_refs(copium_plan *p, int64_t n)
{
    if (n > MAX_ITEMS ||
        grow((void **)&p->refs, &p->cap_refs, (int64_t)p->nrefs + n, sizeof(ref_t)) < 0) {
        if (!PyErr_Occurred())
            PyErr_NoMemory();
        return -1;
    }
    int32_t first = p->nrefs;
    p->nrefs += (int32_t)n;
    return first;
}

static int emit(copium_plan *p, int32_t node, int code, int32_t from, int32_t to)
{
    int words = code == OP_FILL_RANGE ? 3 : 1;
    if (grow((void **)&p->ops, &p->cap_ops, (int64_t)p->nops + words, sizeof(uint32_t)) < 0)
        return -1;
    p->ops[p->nops++] = ((uint32_t)node << OP_BITS) | (uint32_t)code;
    if (code == OP_FILL_RANGE) {
        p->ops[p->nops++] = (uint32_t)from;
        p->ops[p->nops++] = (uint32_t)to;
    }
    return 0;
}

/* A new node made at this point of the copy (its creation op emitted), for original obj
 * (NULL: none to memoize, as for a tuple that is not memoized yet). */
static ref_t add_node(recorder *r, int kind, int32_t n, int32_t items, int32_t aux)
{
    copium_plan *p = r->p;
    if (p->nnodes >= MAX_NODE) {
        PyErr_NoMemory();
        return REF_ERROR;
    }
    if (grow((void **)&p->nodes, &p->cap_nodes, (int64_t)p->nnodes + 1, sizeof(node_t)) < 0 ||
        grow((void **)&r->origs, &r->cap_origs, (int64_t)p->nnodes + 1, sizeof(PyObject *)) < 0)
        return REF_ERROR;
    int32_t i = p->nnodes;
    node_t *nd = &p->nodes[i];
    memset(nd, 0, sizeof(*nd));
    nd->kind = (uint8_t)kind;
    nd->n = n;
    nd->items = items;
    nd->aux = aux;
    r->origs[i] = NULL;
    p->nnodes++;
    if (emit(p, i, create_op[kind], 0, 0) < 0)
        return REF_ERROR;
    return i;
}

/* A container's items are recorded from here on (its creation op just emitted). */
static void open_frame(recorder *r, frame_t *f, int32_t node, int partial)
{
    memset(f, 0, sizeof(*f));
    f->outer = r->frames;
    f->node = node;
    f->create_op = r->p->nops - 1;
    f->partial = partial;
    r->p->nodes[node].flags |= F_OPEN;
    r->frames = f;
}

static void close_frame(recorder *r, frame_t *f)
{
    r->p->nodes[f->node].flags &= ~F_OPEN;
    r->frames = f->outer;
}

/* The end of a container's items: filled from where a range fill left off; or, when nothing
 * reached it before now, made here in one op (its creation op dropped). */
static int emit_fill(recorder *r, const frame_t *f, int32_t n)
{
    copium_plan *p = r->p;
    node_t *nd = &p->nodes[f->node];
    if (!(nd->flags & F_EARLY) && f->filled == 0) {
        p->ops[f->create_op] = OP_NOP;
        return emit(p, f->node,
                    nd->kind == K_LIST   ? OP_MAKE_LIST
                    : nd->kind == K_DICT ? OP_MAKE_DICT
                                         : OP_MAKE_OBJECT,
                    0, 0);
    }
    if (f->filled == 0)
        return emit(p, f->node,
                    nd->kind == K_LIST   ? OP_FILL_LIST
                    : nd->kind == K_DICT ? OP_FILL_DICT
                                         : OP_FILL_OBJECT,
                    0, 0);
    if (f->filled < n)
        return emit(p, f->node, OP_FILL_RANGE, f->filled, n);
    return 0;
}

/* memo[obj] = node, obj kept alive while recording. */
static int remember(recorder *r, PyObject *obj, copium_hash_t hash, int32_t node)
{
    if (copium_memo_insert_index(&r->memo, obj, hash, node) < 0 ||
        copium_keepalive_push(&r->keep, obj) < 0)
        return -1;
    r->origs[node] = obj;
    return 0;
}

static ref_t rec(recorder *r, PyObject *obj);

/* _deepcopy_list: memoized first, then the items in order, the length read at every step. */
static ref_t rec_list(recorder *r, PyObject *obj, copium_hash_t hash)
{
    copium_plan *p = r->p;
    int32_t cap = (int32_t)PyList_GET_SIZE(obj);
    int32_t items = reserve_refs(p, cap);
    if (items < 0)
        return REF_ERROR;
    ref_t self = add_node(r, K_LIST, cap, items, 0);
    if (REF_FAILED(self) || remember(r, obj, hash, self) < 0)
        return REF_ERROR;
    frame_t f;
    open_frame(r, &f, self, 1);
    ref_t result = self;
    int32_t i;
    for (i = 0; i < PyList_GET_SIZE(obj); i++) {
        if (i == MAX_ITEMS) {
            PyErr_NoMemory();
            result = REF_ERROR;
            break;
        }
        f.done = i;
        if (i == cap) {
            /* The list grew (an engine part's code changed it): the refs move to the end. */
            int32_t more = reserve_refs(p, (int64_t)cap * 2 + 1);
            if (more < 0) {
                result = REF_ERROR;
                break;
            }
            memcpy(p->refs + more, p->refs + p->nodes[self].items, (size_t)i * sizeof(ref_t));
            p->nodes[self].items = more;
            cap = cap * 2 + 1;
        }
        PyObject *item = Py_NewRef(PyList_GET_ITEM(obj, i));
        ref_t ref = rec(r, item);
        Py_DECREF(item);
        if (REF_FAILED(ref)) {
            result = ref;
            break;
        }
        p->refs[p->nodes[self].items + i] = ref;
    }
    close_frame(r, &f);
    if (REF_FAILED(result))
        return result;
    p->nodes[self].n = i;
    if (emit_fill(r, &f, i) < 0)
        return REF_ERROR;
    return self;
}

/* _deepcopy_dict: memoized first, then per item the value, then the key, with a dict
 * iterator's checks. */
static ref_t rec_dict(recorder *r, PyObject *obj, copium_hash_t hash)
{
    copium_plan *p = r->p;
    int32_t n = (int32_t)PyDict_GET_SIZE(obj);
    int32_t items = reserve_refs(p, 2 * (int64_t)n);
    if (items < 0)
        return REF_ERROR;
    ref_t self = add_node(r, K_DICT, 2 * n, items, -1);
    if (REF_FAILED(self) || remember(r, obj, hash, self) < 0)
        return REF_ERROR;
    frame_t f;
    open_frame(r, &f, self, 1);
    ref_t result = self;
    copium_dictiter it;
    copium_dictiter_init(&it, obj);
    PyObject *key, *value;
    int rc;
    int32_t i = 0;
    while ((rc = copium_dictiter_next(&it, &key, &value)) > 0) {
        f.done = i;
        Py_INCREF(key);
        Py_INCREF(value);
        ref_t vr = rec(r, value);
        ref_t kr = REF_FAILED(vr) ? vr : rec(r, key);
        Py_DECREF(key);
        Py_DECREF(value);
        if (REF_FAILED(kr)) {
            result = kr;
            break;
        }
        p->refs[p->nodes[self].items + i] = kr;
        p->refs[p->nodes[self].items + n + i] = vr;
        i++;
    }
    close_frame(r, &f);
    if (rc < 0)
        return REF_ERROR;
    if (REF_FAILED(result))
        return result;
    if (f.filled > 0)
        p->nodes[self].flags |= F_PARTIAL;
    if (emit_fill(r, &f, i) < 0)
        return REF_ERROR;
    return self;
}

/* The copy of obj found in the first build's memo (the engine copied it while copying an
 * engine part): an engine ref. Steals copy. */
static ref_t engine_ref(recorder *r, PyObject *obj, copium_hash_t hash, PyObject *copy)
{
    int32_t src = add_source(r, r->mode == COPIUM_PLAN_SNAPSHOT ? copy : Py_NewRef(obj));
    if (src < 0) {
        if (r->mode != COPIUM_PLAN_SNAPSHOT)
            Py_DECREF(copy);
        return REF_ERROR;
    }
    ref_t self = add_node(r, K_ENGINE, 0, 0, src);
    if (REF_FAILED(self) || remember(r, obj, hash, self) < 0) {
        if (r->mode != COPIUM_PLAN_SNAPSHOT)
            Py_DECREF(copy);
        return REF_ERROR;
    }
    r->p->nengine++;
    r->last_engine = self;
    if (b0_fit(r) < 0) {
        if (r->mode != COPIUM_PLAN_SNAPSHOT)
            Py_DECREF(copy);
        return REF_ERROR;
    }
    r->b0.objs[self] = r->mode == COPIUM_PLAN_SNAPSHOT ? Py_NewRef(copy) : copy;
    return self;
}

/* Where the engine memo of the first build knows obj: 1 (an engine ref in *ref), 0, -1. */
static int engine_lookup(recorder *r, PyObject *obj, copium_hash_t hash, ref_t *ref)
{
    if (r->b0.ctx == NULL)
        return 0;
    PyObject *copy;
    int rc = copium_memo_find(r->b0.ctx, obj, hash, &copy);
    if (rc <= 0)
        return rc;
    *ref = engine_ref(r, obj, hash, copy);
    return REF_FAILED(*ref) ? -1 : 1;
}

/* _deepcopy_tuple: the items first; then a copy memoized meanwhile (the tuple is part of a
 * cycle, through a list, a dict or an engine part) wins; a tuple whose items all copy to
 * themselves is the tuple itself, shared by every copy and never memoized. */
static ref_t rec_tuple(recorder *r, PyObject *obj, copium_hash_t hash)
{
    copium_plan *p = r->p;
    int32_t n = (int32_t)PyTuple_GET_SIZE(obj);
    int32_t i;
    for (i = 0; i < n; i++) {
        PyObject *item = PyTuple_GET_ITEM(obj, i);
        if (!copium_is_atom(r->bs->core, item))
            break;
    }
    if (i == n)
        return add_const(r, obj);
    int32_t items = reserve_refs(p, n);
    if (items < 0)
        return REF_ERROR;
    int changed = 0;
    for (i = 0; i < n; i++) {
        ref_t ref = rec(r, PyTuple_GET_ITEM(obj, i));
        if (REF_FAILED(ref))
            return ref;
        p->refs[items + i] = ref;
        changed |= ref >= 0;
    }
    Py_ssize_t found = copium_memo_lookup_index(&r->memo, obj, hash);
    if (found >= 0)
        return (ref_t)found;
    ref_t ref;
    int rc = engine_lookup(r, obj, hash, &ref);
    if (rc != 0)
        return rc > 0 ? ref : REF_ERROR;
    if (!changed) {
        if (p->nrefs == items + n)
            p->nrefs = items; /* only this tuple referred to them */
        return add_const(r, obj);
    }
    ref_t self = add_node(r, K_TUPLE, n, items, 0);
    if (REF_FAILED(self) || remember(r, obj, hash, self) < 0)
        return REF_ERROR;
    return self;
}

/* set and frozenset (their reduce): a snapshot of the elements in iteration order, their
 * copies, then a new set or frozenset built from them, memoized last. */
static ref_t rec_set(recorder *r, PyObject *obj, copium_hash_t hash, int kind)
{
    copium_plan *p = r->p;
    PyObject *snapshot = PySequence_List(obj);
    if (snapshot == NULL)
        return REF_ERROR;
    int32_t n = (int32_t)PyList_GET_SIZE(snapshot);
    int32_t items = reserve_refs(p, n);
    ref_t self = items < 0 ? REF_ERROR : 0;
    for (int32_t i = 0; i < n && !REF_FAILED(self); i++) {
        ref_t ref = rec(r, PyList_GET_ITEM(snapshot, i));
        if (REF_FAILED(ref))
            self = ref;
        else
            p->refs[items + i] = ref;
    }
    Py_DECREF(snapshot);
    if (REF_FAILED(self))
        return self;
    self = add_node(r, kind, n, items, 0);
    if (REF_FAILED(self) || remember(r, obj, hash, self) < 0)
        return REF_ERROR;
    return self;
}

/* bytearray: bytearray(bytes(x)), memoized; the bytes are the source. */
static ref_t rec_bytearray(recorder *r, PyObject *obj, copium_hash_t hash)
{
    PyObject *bytes =
        PyBytes_FromStringAndSize(PyByteArray_AS_STRING(obj), PyByteArray_GET_SIZE(obj));
    int32_t src = bytes ? add_source(r, bytes) : -1;
    if (src < 0)
        return REF_ERROR;
    ref_t self = add_node(r, K_BYTEARRAY, 0, 0, src);
    if (REF_FAILED(self) || remember(r, obj, hash, self) < 0)
        return REF_ERROR;
    return self;
}

/* A value type rebuilt natively (datetime, uuid): its child first, then the copy, memoized. */
static ref_t rec_value(recorder *r, PyObject *obj, copium_hash_t hash, copium_rebuild_fn rebuild,
                       PyObject *source, PyObject *child)
{
    copium_plan *p = r->p;
    int32_t src = add_source(r, source);
    if (src < 0)
        return REF_ERROR;
    int sub = 0;
    while (sub < p->nrebuilds && p->rebuilds[sub] != rebuild)
        sub++;
    if (sub == p->nrebuilds) {
        if (sub == (int)(sizeof(p->rebuilds) / sizeof(p->rebuilds[0]))) {
            PyErr_SetString(PyExc_SystemError, "copium: too many value kinds in a plan");
            return REF_ERROR;
        }
        p->rebuilds[p->nrebuilds++] = rebuild;
    }
    int32_t items = 0;
    ref_t cr = 0;
    if (child != NULL) {
        Py_INCREF(child);
        cr = rec(r, child);
        Py_DECREF(child);
        if (REF_FAILED(cr))
            return cr;
        if ((items = reserve_refs(p, 1)) < 0)
            return REF_ERROR;
        p->refs[items] = cr;
    }
    ref_t self = add_node(r, K_VALUE, child != NULL, items, src);
    if (REF_FAILED(self))
        return REF_ERROR;
    p->nodes[self].sub = (uint16_t)sub;
    if (remember(r, obj, hash, self) < 0)
        return REF_ERROR;
    return self;
}

/* The pinned object obj: built from its pin's snapshot, memoized. Steals pin. */
static ref_t rec_pinned(recorder *r, PyObject *obj, copium_hash_t hash, PyObject *pin)
{
    int32_t src = add_source(r, pin);
    if (src < 0)
        return REF_ERROR;
    ref_t self = add_node(r, K_PINNED, 0, 0, src);
    if (REF_FAILED(self) || remember(r, obj, hash, self) < 0)
        return REF_ERROR;
    r->p->npinned++;
    return self;
}

/* FNV-1a over 32-bit words, never 0 (a memo key must not be NULL). */
static uint64_t content_hash(uint64_t h, const void *words, size_t n)
{
    const uint32_t *w = words;
    for (size_t i = 0; i < n; i++) {
        h ^= w[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static int32_t find_layout(recorder *r, const layout_t *want, const ref_t *keys,
                           const Py_ssize_t *offsets)
{
    copium_plan *p = r->p;
    uint64_t h = 0xcbf29ce484222325ULL;
    uintptr_t type = (uintptr_t)want->type;
    h = content_hash(h, &type, sizeof(type) / 4);
    h = content_hash(h, &want->route, 1);
    h = content_hash(h, keys, (size_t)want->nkeys);
    h = content_hash(h, offsets, (size_t)want->nslots * (sizeof(Py_ssize_t) / 4));
    const void *key = (const void *)(uintptr_t)(h | 1);
    copium_hash_t kh = copium_hash_ptr(key);
    Py_ssize_t found = copium_memo_lookup_index(&r->content, key, kh);
    if (found >= 0) {
        const layout_t *L = &p->layouts[found];
        if (L->type == want->type && L->route == want->route && L->nkeys == want->nkeys &&
            L->nslots == want->nslots && L->version == want->version &&
            /* (a pool never grown is NULL, which memcmp may not be given even for 0 bytes) */
            (L->nkeys == 0 ||
             memcmp(p->keypool + L->keys, keys, (size_t)L->nkeys * sizeof(ref_t)) == 0) &&
            (L->nslots == 0 ||
             memcmp(p->offpool + L->offsets, offsets, (size_t)L->nslots * sizeof(Py_ssize_t)) == 0))
            return (int32_t)found;
    }
    if (grow((void **)&p->layouts, &p->cap_layouts, (int64_t)p->nlayouts + 1, sizeof(layout_t)) <
            0 ||
        grow((void **)&p->keypool, &p->cap_keypool, (int64_t)p->nkeypool + want->nkeys,
             sizeof(ref_t)) < 0 ||
        grow((void **)&p->offpool, &p->cap_offpool, (int64_t)p->noffpool + want->nslots,
             sizeof(Py_ssize_t)) < 0)
        return -1;
    layout_t *L = &p->layouts[p->nlayouts];
    *L = *want;
    L->keys = p->nkeypool;
    L->offsets = p->noffpool;
    if (want->nkeys > 0)
        memcpy(p->keypool + p->nkeypool, keys, (size_t)want->nkeys * sizeof(ref_t));
    if (want->nslots > 0)
        memcpy(p->offpool + p->noffpool, offsets, (size_t)want->nslots * sizeof(Py_ssize_t));
    p->nkeypool += want->nkeys;
    p->noffpool += want->nslots;
    if (found < 0 && copium_memo_insert_index(&r->content, key, kh, p->nlayouts) < 0)
        return -1;
    return p->nlayouts++;
}

static ref_t rec_engine(recorder *r, PyObject *obj, copium_hash_t hash, const copium_handler *h);

/* An instance on the native object path: memoized first (object.__new__), then its __dict__'s
 * values in order and its slots' values; the keys (atoms) are the layout's. */
static ref_t rec_object(recorder *r, PyObject *obj, copium_hash_t hash, const copium_handler *h)
{
    copium_plan *p = r->p;
    copium_object_layout st;
    int rc = copium_object_layout_of(r->bs->proto, obj, &st);
    for (Py_ssize_t j = 0; rc > 0 && j < st.nslots; j++) {
        if (st.slots[j].offset == 0) {
            /* The slots read by getattr: the type's facts were not cached yet (the first
             * time, copyreg._slotnames stores __slotnames__ on the class): once more. */
            copium_object_layout_clear(&st);
            rc = copium_object_layout_of(r->bs->proto, obj, &st);
            break;
        }
    }
    if (rc <= 0)
        return rc < 0 ? REF_ERROR : rec_engine(r, obj, hash, h);
    PyTypeObject *tp = Py_TYPE(obj);
    int32_t nkeys = st.dict ? (int32_t)PyDict_GET_SIZE(st.dict) : 0;
    ref_t keys_stack[16], *keys = keys_stack;
    Py_ssize_t offsets_stack[8], *offsets = offsets_stack;
    ref_t result = REF_ERROR;
    int native = st.nslots <= MAX_ITEMS && nkeys <= MAX_ITEMS - st.nslots;
    /* The dict met before (stdlib merges its memoized copy) is left to the engine. */
    if (native && st.dict != NULL) {
        copium_hash_t dh = copium_hash_ptr(st.dict);
        PyObject *found = NULL;
        native = copium_memo_lookup_index(&r->memo, st.dict, dh) < 0;
        if (native && r->b0.ctx != NULL) {
            rc = copium_memo_find(r->b0.ctx, st.dict, dh, &found);
            Py_XDECREF(found);
            if (rc < 0) {
                copium_object_layout_clear(&st);
                return REF_ERROR;
            }
            native = rc == 0;
        }
    }
    for (Py_ssize_t j = 0; native && j < st.nslots; j++)
        native = st.slots[j].offset > 0;
    if (!native) {
        copium_object_layout_clear(&st);
        return rec_engine(r, obj, hash, h);
    }
    if (nkeys > 16 && (keys = PyMem_New(ref_t, (size_t)nkeys)) == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (st.nslots > 8 && (offsets = PyMem_New(Py_ssize_t, (size_t)st.nslots)) == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    layout_t want = {
        .type = tp, .version = st.version, .nkeys = nkeys, .nslots = (int32_t)st.nslots};
    /* Atoms for keys (any other key is left to the engine); the values route while every key
     * is an exact str with no data descriptor of its name (what the object path's setattr
     * store checks). */
    want.route =
        (st.into_values && tp->tp_setattro == PyObject_GenericSetAttr) ? ROUTE_VALUES : ROUTE_STATE;
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    int32_t j = 0;
    while (st.dict != NULL && PyDict_Next(st.dict, &pos, &key, &value) && j < nkeys) {
        if (!copium_is_atom(r->bs->core, key))
            break;
        if (!PyUnicode_CheckExact(key)) {
            want.route = ROUTE_STATE;
        } else {
            PyObject *descr = copium_type_lookup(tp, key);
            if (descr != NULL && Py_TYPE(descr)->tp_descr_set != NULL)
                want.route = ROUTE_STATE;
        }
        ref_t kr = add_const(r, key);
        if (REF_FAILED(kr))
            goto done;
        keys[j++] = kr;
    }
    if (j != nkeys || (st.dict != NULL && PyDict_GET_SIZE(st.dict) != nkeys)) {
        result = rec_engine(r, obj, hash, h);
        goto done;
    }
    for (Py_ssize_t s = 0; s < st.nslots; s++)
        offsets[s] = st.slots[s].offset;
    int32_t layout = find_layout(r, &want, keys, offsets);
    if (layout < 0 || add_const(r, (PyObject *)tp) == REF_ERROR)
        goto done;
    int32_t items = reserve_refs(p, (int64_t)nkeys + st.nslots);
    if (items < 0)
        goto done;
    ref_t self = add_node(r, K_OBJECT, nkeys + (int32_t)st.nslots, items, layout);
    if (REF_FAILED(self) || remember(r, obj, hash, self) < 0)
        goto done;
    frame_t f;
    open_frame(r, &f, self, 0);
    /* The dict's values in order (value before key: the keys are atoms), as a dict iterator
     * gives them; a change made meanwhile (by an engine part's code) raises as it would. */
    if (st.dict != NULL) {
        copium_dictiter it;
        copium_dictiter_init(&it, st.dict);
        j = 0;
        while ((rc = copium_dictiter_next(&it, &key, &value)) > 0) {
            if (j >= nkeys || ~keys[j] >= p->nconsts || p->consts[~keys[j]] != key) {
                PyErr_SetString(PyExc_RuntimeError, "dictionary keys changed during iteration");
                rc = -1;
                break;
            }
            Py_INCREF(value);
            ref_t vr = rec(r, value);
            Py_DECREF(value);
            if (REF_FAILED(vr)) {
                result = vr;
                rc = -1;
                break;
            }
            p->refs[p->nodes[self].items + j++] = vr;
        }
        if (rc < 0) {
            close_frame(r, &f);
            goto done;
        }
    }
    for (Py_ssize_t s = 0; s < st.nslots; s++) {
        ref_t vr = rec(r, st.slots[s].value);
        if (REF_FAILED(vr)) {
            result = vr;
            close_frame(r, &f);
            goto done;
        }
        p->refs[p->nodes[self].items + nkeys + s] = vr;
    }
    close_frame(r, &f);
    if (emit_fill(r, &f, 0) < 0)
        goto done;
    result = self;
done:
    if (keys != keys_stack)
        PyMem_Free(keys);
    if (offsets != offsets_stack)
        PyMem_Free(offsets);
    copium_object_layout_clear(&st);
    return result;
}

/* Before a part that may run Python code: the items each ancestor holds by now, as stdlib's
 * partial copies hold them at that point. */
static int emit_partial_fills(recorder *r)
{
    for (frame_t *f = r->frames; f != NULL; f = f->outer) {
        if (f->partial && f->done > f->filled) {
            if (emit(r->p, f->node, OP_FILL_RANGE, f->filled, f->done) < 0)
                return -1;
            f->filled = f->done;
        }
    }
    return 0;
}

/* The first build's buffer, made to hold every constant and node recorded so far. */
static int b0_fit(recorder *r)
{
    copium_plan *p = r->p;
    if (p->nconsts > r->b0_ccap || p->nnodes > r->b0_ncap) {
        int64_t ccap = (int64_t)p->nconsts * 2 + 64, ncap = (int64_t)p->nnodes * 2 + 64;
        if (ccap + ncap > PY_SSIZE_T_MAX / (int64_t)sizeof(PyObject *) || ccap > INT32_MAX ||
            ncap > INT32_MAX) {
            PyErr_NoMemory();
            return -1;
        }
        PyObject **base = PyMem_Calloc((size_t)(ccap + ncap), sizeof(PyObject *));
        if (base == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        if (r->b0_base != NULL)
            memcpy(base + ccap, r->b0.objs, (size_t)r->b0_ncap * sizeof(PyObject *));
        PyMem_Free(r->b0_base);
        r->b0_base = base;
        r->b0_ccap = (int32_t)ccap;
        r->b0_ncap = (int32_t)ncap;
        r->b0_cfilled = 0;
        r->b0.objs = base + ccap;
    }
    for (int32_t c = r->b0_cfilled; c < p->nconsts; c++)
        r->b0.objs[~c] = p->consts[c];
    r->b0_cfilled = p->nconsts;
    return 0;
}

/* The first build, caught up with the ops recorded so far (its context made on first use). */
static int catch_up(recorder *r)
{
    if (r->b0.ctx == NULL) {
        r->b0.ctx = copium_ctx_acquire(r->bs->core);
        if (r->b0.ctx == NULL)
            return -1;
        r->b0.p = r->p;
        r->b0.first = 1;
    }
    if (b0_fit(r) < 0)
        return -1;
    r->b0.origs = r->origs;
    return run(&r->b0, r->p->nops);
}

/* Any other part: copied by the engine now, in the first build. A snapshot keeps that copy
 * (later builds copy it again); a replicate plan keeps the original, and declines a part that
 * may run Python code. A part whose copy is itself is a constant. */
static ref_t rec_engine(recorder *r, PyObject *obj, copium_hash_t hash, const copium_handler *h)
{
    int recordable = (h->flags & COPIUM_HANDLER_RECORDABLE) != 0;
    if (r->mode == COPIUM_PLAN_REPLICATE && !recordable)
        return REF_DECLINE;
    if (!recordable && emit_partial_fills(r) < 0)
        return REF_ERROR;
    /* The containers around it exist (in its memo) before it runs. */
    for (frame_t *f = r->frames; f != NULL; f = f->outer)
        r->p->nodes[f->node].flags |= F_EARLY;
    if (catch_up(r) < 0)
        return REF_ERROR;
    PyObject *copy = copium_deepcopy_child(r->b0.ctx, obj);
    if (copy == NULL)
        return REF_ERROR;
    if (copy == obj) {
        Py_DECREF(copy);
        return add_const(r, obj);
    }
    int32_t src = add_source(r, r->mode == COPIUM_PLAN_SNAPSHOT ? Py_NewRef(copy) : Py_NewRef(obj));
    ref_t self = src < 0 ? REF_ERROR : add_node(r, K_ENGINE, 0, 0, src);
    if (REF_FAILED(self) || remember(r, obj, hash, self) < 0) {
        Py_DECREF(copy);
        return REF_ERROR;
    }
    if (b0_fit(r) < 0) {
        Py_DECREF(copy);
        return REF_ERROR;
    }
    r->b0.objs[self] = copy;
    r->p->nengine++;
    r->last_engine = self;
    if (recordable)
        r->p->nodes[self].flags |= F_QUIET;
    return self;
}

/* The engine's path for one object (copium_deepcopy_child): atoms as themselves, the memo,
 * pins, then the handler. */
static ref_t rec(recorder *r, PyObject *obj)
{
    PyTypeObject *type = Py_TYPE(obj);
    const copium_handler *h = copium_registry_lookup(&r->bs->core->registry, type);
    if (h->flags & COPIUM_HANDLER_ATOMIC)
        return add_const(r, obj);
    copium_hash_t hash = copium_hash_ptr(obj);
    Py_ssize_t found = copium_memo_lookup_index(&r->memo, obj, hash);
    if (found >= 0) {
        /* A cycle: the container must exist before its items. */
        r->p->nodes[found].flags |= (r->p->nodes[found].flags & F_OPEN) ? F_EARLY : 0;
        return (ref_t)found;
    }
    ref_t ref;
    int rc = engine_lookup(r, obj, hash, &ref);
    if (rc != 0)
        return rc > 0 ? ref : REF_ERROR;
    const copium_handler *inner = copium_pins_unwrap(h);
    if (inner != h) {
        h = inner;
        PyObject *pin = obj != r->unpinned ? copium_pins_find(obj, hash) : NULL;
        if (pin != NULL)
            return rec_pinned(r, obj, hash, pin);
    }
    if (copium_guard_enter(&r->guard) < 0) {
        /* Deeper than the engine goes: its RecursionError for a snapshot; a replicate plan
         * declines, and the engine raises it. */
        if (r->mode == COPIUM_PLAN_SNAPSHOT)
            return REF_ERROR;
        PyErr_Clear();
        return REF_DECLINE;
    }
    copium_deepcopy_fn fn = h->deepcopy;
    ref_t result;
    copium_rebuild_fn rebuild;
    PyObject *source, *child;
    if (type == &PyList_Type && fn == copium_list_handler.deepcopy)
        result = rec_list(r, obj, hash);
    else if (type == &PyDict_Type && fn == copium_dict_handler.deepcopy)
        result = rec_dict(r, obj, hash);
    else if (type == &PyTuple_Type && fn == copium_tuple_handler.deepcopy)
        result = rec_tuple(r, obj, hash);
    else if (type == &PySet_Type && fn == copium_set_handler.deepcopy)
        result = rec_set(r, obj, hash, K_SET);
    else if (type == &PyFrozenSet_Type && fn == copium_frozenset_handler.deepcopy)
        result = rec_set(r, obj, hash, K_FROZENSET);
    else if (type == &PyByteArray_Type && fn == copium_bytearray_handler.deepcopy)
        result = rec_bytearray(r, obj, hash);
    else if (fn == copium_generic_handler.deepcopy)
        result = rec_object(r, obj, hash, h);
    else if ((rc = copium_datetime_recipe(&r->bs->proto->handlers, h, obj, &rebuild, &source,
                                          &child)) != 0 ||
             (rc = copium_uuid_recipe(r->bs->proto, h, obj, &rebuild, &source, &child)) != 0)
        result = rc < 0 ? REF_ERROR : rec_value(r, obj, hash, rebuild, source, child);
    else
        result = rec_engine(r, obj, hash, h);
    copium_guard_leave(&r->guard);
    return result;
}

/* ---- finishing ------------------------------------------------------------------------ */

/* Whether hashing and comparing obj runs no Python code: exact str, int, float, complex,
 * bytes, bool, None, and tuples of those. */
static int hashes_quietly(PyObject *obj, int depth)
{
    PyTypeObject *t = Py_TYPE(obj);
    if (copium_hashes_in_c(t) || t == &PyComplex_Type)
        return 1;
    if (t != &PyTuple_Type || depth > 8)
        return 0;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(obj); i++) {
        if (!hashes_quietly(PyTuple_GET_ITEM(obj, i), depth + 1))
            return 0;
    }
    return 1;
}

/* The same for what ref names in a copy: a constant as above, a new tuple of such, a new
 * frozenset (its hash comes from its elements' stored hashes; they are checked as elements). */
static int ref_hashes_quietly(const copium_plan *p, ref_t r, int depth)
{
    if (r < 0)
        return hashes_quietly(p->consts[~r], depth);
    const node_t *nd = &p->nodes[r];
    if (nd->kind == K_FROZENSET)
        return 1;
    if (nd->kind != K_TUPLE || depth > 8)
        return 0;
    for (int32_t j = 0; j < nd->n; j++) {
        if (!ref_hashes_quietly(p, p->refs[nd->items + j], depth + 1))
            return 0;
    }
    return 1;
}

static int builds_quietly(const copium_plan *p)
{
    if (p->nengine > 0)
        return 0;
    for (int32_t i = 0; i < p->nnodes; i++) {
        const node_t *nd = &p->nodes[i];
        if (nd->kind == K_PINNED && !copium_pin_quiet(p->consts[nd->aux]))
            return 0;
        if (nd->kind != K_DICT && nd->kind != K_SET && nd->kind != K_FROZENSET)
            continue;
        int32_t n = nd->kind == K_DICT ? nd->n / 2 : nd->n; /* a dict's keys come first */
        for (int32_t j = 0; j < n; j++) {
            if (!ref_hashes_quietly(p, p->refs[nd->items + j], 0))
                return 0;
        }
    }
    return 1;
}

/* Where the values of the template's clones are, found on a clone: its entries must be the
 * template's keys in order, in a keys object of its own laid out like the template's. */
static int value_slots(template_t *t, const copium_plan *p, const ref_t *refs)
{
    t->stride = 0;
    copium_dict_entries e, c;
    if (!copium_dict_entries_of(t->dict, &e) || e.count != PyDict_GET_SIZE(t->dict))
        return 0;
    PyObject *clone = PyDict_Copy(t->dict);
    if (clone == NULL)
        return -1;
    const char *tkeys = (const char *)((PyDictObject *)t->dict)->ma_keys;
    const char *ckeys = (const char *)((PyDictObject *)clone)->ma_keys;
    int same = ckeys != tkeys && copium_dict_entries_of(clone, &c) && c.count == e.count &&
               c.stride == e.stride && c.key_offset == e.key_offset &&
               c.base - ckeys == e.base - tkeys;
    for (Py_ssize_t j = 0; same && j < c.count; j++)
        same = COPIUM_DICT_ENTRY_KEY(&c, j) == p->consts[~refs[j]] &&
               COPIUM_DICT_ENTRY_VALUE(&c, j) == COPIUM_DICT_ENTRY_VALUE(&e, j);
    if (same) {
        t->value_offset = (e.base - tkeys) + e.key_offset + (Py_ssize_t)sizeof(PyObject *);
        t->stride = e.stride;
    }
    Py_DECREF(clone);
    return 0;
}

/* The ops without the creation ops dropped while recording. */
static void drop_nops(copium_plan *p)
{
    int32_t w = 0;
    for (int32_t i = 0; i < p->nops;) {
        uint32_t op = p->ops[i];
        int words = (op & OP_MASK) == OP_FILL_RANGE ? 3 : 1;
        if ((op & OP_MASK) != OP_NOP) {
            memmove(&p->ops[w], &p->ops[i], (size_t)words * sizeof(uint32_t));
            w += words;
        }
        i += words;
    }
    p->nops = w;
}

/* Templates for the dicts whose keys are all constants, shared by dicts with the same keys in
 * the same order: the keys inserted in order into a new dict, as the engine's copy is built,
 * so that a clone of it has exactly that copy's table. A dict whose values are all constants
 * too (a leaf) gets a template holding them: a clone of it is the copy (as the engine's
 * copy of such a dict is a clone of the original); so does a list of constants (a tuple of
 * its items). Templates with the same contents are shared. */
static int make_templates(recorder *r)
{
    copium_plan *p = r->p;
    copium_memo lists;
    copium_memo_fini_indices(&r->content); /* the layouts' entries: another index space */
    if (copium_memo_init(&r->content) < 0 || copium_memo_init(&lists) < 0)
        return -1;
    int rc = -1;
    for (int32_t i = 0; i < p->nnodes; i++) {
        node_t *nd = &p->nodes[i];
        const ref_t *refs = p->refs + nd->items;
        int consts = nd->n > 0;
        for (int32_t j = 0; consts && j < nd->n; j++)
            consts = refs[j] < 0;
        if (nd->kind == K_LIST && consts) {
            uint64_t h = content_hash(0x3c6ef372fe94f82bULL, refs, (size_t)nd->n);
            const void *key = (const void *)(uintptr_t)(h | 1);
            copium_hash_t kh = copium_hash_ptr(key);
            Py_ssize_t found = copium_memo_lookup_index(&lists, key, kh);
            if (found >= 0) {
                PyObject *t = p->consts[found];
                int same = PyTuple_GET_SIZE(t) == nd->n;
                for (int32_t j = 0; same && j < nd->n; j++)
                    same = PyTuple_GET_ITEM(t, j) == p->consts[~refs[j]];
                if (same) {
                    nd->aux = (int32_t)found;
                    nd->flags |= F_LEAF;
                    continue;
                }
            }
            PyObject *tuple = PyTuple_New(nd->n);
            if (tuple == NULL)
                goto done;
            for (int32_t j = 0; j < nd->n; j++)
                PyTuple_SET_ITEM(tuple, j, Py_NewRef(p->consts[~refs[j]]));
            int32_t c = add_source(r, tuple);
            if (c < 0 || (found < 0 && copium_memo_insert_index(&lists, key, kh, c) < 0))
                goto done;
            nd->aux = c;
            nd->flags |= F_LEAF;
            continue;
        }
        if (nd->kind != K_DICT || nd->n == 0 || (nd->flags & F_PARTIAL))
            continue;
        int32_t m = nd->n / 2;
        int keys = 1;
        for (int32_t j = 0; keys && j < m; j++)
            keys = refs[j] < 0;
        if (!keys)
            continue;
        int leaf = consts; /* values too */
        uint64_t h = content_hash(leaf ? 0x84222325cbf29ce4ULL : 0x9e3779b97f4a7c15ULL, refs,
                                  (size_t)(leaf ? nd->n : m));
        const void *key = (const void *)(uintptr_t)(h | 1);
        copium_hash_t kh = copium_hash_ptr(key);
        Py_ssize_t found = copium_memo_lookup_index(&r->content, key, kh);
        if (found >= 0) {
            const template_t *t = &p->templates[found];
            const node_t *other = &p->nodes[t->node];
            int same = t->leaf == leaf && other->n == nd->n;
            for (int32_t j = 0; same && j < (leaf ? nd->n : m); j++)
                same = p->refs[other->items + j] == refs[j];
            if (same) {
                nd->aux = (int32_t)found;
                nd->flags |= leaf ? F_LEAF : 0;
                continue;
            }
        }
        if (grow((void **)&p->templates, &p->cap_templates, (int64_t)p->ntemplates + 1,
                 sizeof(template_t)) < 0)
            goto done;
        PyObject *dict = PyDict_New();
        if (dict == NULL)
            goto done;
        for (int32_t j = 0; j < m; j++) {
            PyObject *value = leaf ? p->consts[~refs[m + j]] : Py_None;
            if (PyDict_SetItem(dict, p->consts[~refs[j]], value) < 0) {
                Py_DECREF(dict);
                goto done;
            }
        }
        if (PyDict_GET_SIZE(dict) != m) { /* equal keys: leave it to insertion */
            Py_DECREF(dict);
            continue;
        }
        int32_t ti = p->ntemplates++; /* the plan holds the dict from here on */
        template_t *t = &p->templates[ti];
        t->dict = dict;
        t->node = i;
        t->leaf = leaf;
        t->stride = 0;
        if (!leaf && value_slots(t, p, refs) < 0)
            goto done;
        if (found < 0 && copium_memo_insert_index(&r->content, key, kh, ti) < 0)
            goto done;
        nd->aux = ti;
        nd->flags |= leaf ? F_LEAF : 0;
    }
    rc = 0;
done:
    copium_memo_fini_indices(&lists);
    return rc;
}

/* The collector's references from the engine parts' sources, followed to find the native
 * parts they reach (which each build then seeds into its engine memo). Followed only through
 * objects whose traversal reaches every reference they hold: builtin containers, bound
 * methods and instances of Python classes. Anything else: every native part made before the
 * last engine part is seeded. */
typedef struct {
    PyObject **items;
    size_t count, cap;
    int failed;
} stack_t;

static int push_ref(PyObject *o, void *arg)
{
    stack_t *s = arg;
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        PyObject **items = PyMem_Realloc(s->items, cap * sizeof(PyObject *));
        if (items == NULL) {
            s->failed = 1;
            return -1;
        }
        s->items = items;
        s->cap = cap;
    }
    s->items[s->count++] = Py_NewRef(o);
    return 0;
}

static int trusted(PyTypeObject *t, traverseproc class_traverse)
{
    if (t == &PyList_Type || t == &PyDict_Type || t == &PyTuple_Type || t == &PySet_Type ||
        t == &PyFrozenSet_Type || t == &PyMethod_Type)
        return 1;
    if (class_traverse == NULL || t->tp_traverse != class_traverse)
        return 0;
    /* A Python class: trusted when its solid base is, as far as traversal goes. */
    PyTypeObject *base = t;
    while (base != NULL && PyType_HasFeature(base, Py_TPFLAGS_HEAPTYPE) &&
           base->tp_traverse == class_traverse)
        base = base->tp_base;
    return base == NULL || base == &PyBaseObject_Type || base->tp_traverse == NULL ||
           trusted(base, NULL);
}

/* 1: precise seeds marked in seed[], 0: use every native part before the last engine part,
 * -1: error. */
static int find_seeds(recorder *r, uint8_t *seed)
{
    copium_plan *p = r->p;
    copium_batch_state *state = r->bs;
    traverseproc class_traverse = state ? state->class_traverse : NULL;
    copium_memo node_of, seen;
    stack_t s = {0};
    int result = 1;
    if (copium_memo_init(&node_of) < 0)
        return -1;
    if (copium_memo_init(&seen) < 0) {
        copium_memo_fini_indices(&node_of);
        return -1;
    }
    for (int32_t i = 0; i < r->last_engine; i++) {
        PyObject *o = r->b0.objs[i];
        if (p->nodes[i].kind != K_ENGINE && o != NULL &&
            copium_memo_insert_index(&node_of, o, copium_hash_ptr(o), i) < 0)
            goto error;
    }
    for (int32_t i = 0; i < p->nnodes; i++) {
        if (p->nodes[i].kind == K_ENGINE && push_ref(r->b0.objs[i], &s) < 0)
            goto error;
    }
    while (s.count > 0 && result == 1) {
        PyObject *o = s.items[--s.count];
        copium_hash_t h = copium_hash_ptr(o);
        int done = copium_memo_lookup_index(&seen, o, h) >= 0;
        if (!done && copium_memo_insert_index(&seen, o, h, 0) < 0) {
            Py_DECREF(o);
            goto error;
        }
        Py_ssize_t node = done ? -1 : copium_memo_lookup_index(&node_of, o, h);
        if (node >= 0)
            seed[node] = 1;
        else if (done || PyModule_Check(o) || copium_is_atom(r->bs->core, o) ||
                 copium_memo_lookup_index(&r->memo, o, h) >= 0)
            ; /* nothing new, an atom, or an original kept as it is */
        else if (!trusted(Py_TYPE(o), class_traverse))
            result = 0;
        else if (Py_TYPE(o)->tp_traverse != NULL &&
                 (Py_TYPE(o)->tp_traverse(o, push_ref, &s) < 0 || s.failed)) {
            Py_DECREF(o);
            goto error;
        }
        Py_DECREF(o);
    }
    goto done;
error:
    if (!PyErr_Occurred())
        PyErr_NoMemory();
    result = -1;
done:
    while (s.count > 0)
        Py_DECREF(s.items[--s.count]);
    PyMem_Free(s.items);
    copium_memo_fini_indices(&node_of);
    copium_memo_fini_indices(&seen);
    return result;
}

static int make_seeds(recorder *r)
{
    copium_plan *p = r->p;
    if (r->last_engine <= 0)
        return 0;
    uint8_t *seed = PyMem_Calloc((size_t)r->last_engine, 1);
    if (seed == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    int precise = find_seeds(r, seed);
    if (precise < 0) {
        PyMem_Free(seed);
        return -1;
    }
    p->seeds_precise = precise;
    for (int32_t i = 0; i < r->last_engine; i++) {
        if (p->nodes[i].kind == K_ENGINE || (precise && !seed[i]))
            continue;
        if (p->seed_keys == NULL) {
            p->seed_keys = PyMem_Calloc((size_t)p->nnodes, sizeof(int32_t));
            if (p->seed_keys == NULL) {
                PyMem_Free(seed);
                PyErr_NoMemory();
                return -1;
            }
        }
        PyObject *key = r->mode == COPIUM_PLAN_SNAPSHOT ? r->b0.objs[i] : r->origs[i];
        int32_t c = add_source(r, Py_NewRef(key));
        if (c < 0) {
            PyMem_Free(seed);
            return -1;
        }
        p->seed_keys[i] = c;
        p->nodes[i].flags |= F_SEED;
        p->nseeds++;
    }
    PyMem_Free(seed);
    return 0;
}

/* Mark the refs a build may move (REF_MOVE): those naming a node that is named by no other
 * ref, is not the root, is not memoized for an engine part, and is made complete in one op
 * (a node made first and filled later reads its own copy again), held by a list, a dict (as a
 * value), a tuple or an instance. In a tree that is every container but the root: its copy
 * then goes into its holder without a new reference, and the build's end does not release it
 * (a release that would load each copy again, long after it was made). */
static int mark_moves(copium_plan *p)
{
    if (p->nnodes == 0)
        return 0;
    uint8_t *uses = PyMem_Calloc((size_t)p->nnodes, 1); /* 0, 1, or 2 for more */
    if (uses == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (int32_t i = 0; i < p->nnodes; i++) {
        const node_t *nd = &p->nodes[i];
        for (int32_t j = 0; j < nd->n; j++) {
            ref_t r = p->refs[nd->items + j];
            if (r >= 0 && uses[r] < 2)
                uses[r]++;
        }
        if (nd->flags & F_SEED)
            uses[i] = 2;
    }
    if (p->root >= 0)
        uses[p->root] = 2;
    for (int32_t k = 0; k < p->nops; k++) {
        uint32_t op = p->ops[k];
        switch (op & OP_MASK) {
        case OP_LIST:
        case OP_DICT:
        case OP_OBJECT:
            uses[op >> OP_BITS] = 2;
            break;
        case OP_FILL_RANGE:
            k += 2;
            break;
        default:
            break;
        }
    }
    for (int32_t i = 0; i < p->nnodes; i++) {
        const node_t *nd = &p->nodes[i];
        int32_t from = 0;
        if (nd->kind == K_DICT)
            from = nd->n / 2; /* its values */
        else if (nd->kind != K_LIST && nd->kind != K_TUPLE && nd->kind != K_OBJECT)
            continue;
        for (int32_t j = from; j < nd->n; j++) {
            ref_t *r = &p->refs[nd->items + j];
            if (*r >= 0 && uses[*r] == 1)
                *r += REF_MOVE;
        }
    }
    PyMem_Free(uses);
    return 0;
}

/* The tables at their final sizes (they grew by doubling while recording). */
static void fit(void **array, int32_t *cap, int32_t n, size_t elsize)
{
    if (n < *cap && n > 0) {
        void *p = PyMem_Realloc(*array, (size_t)n * elsize);
        if (p != NULL) { /* else the larger table stays: nothing lost */
            *array = p;
            *cap = n;
        }
    }
}

static void shrink(copium_plan *p)
{
    fit((void **)&p->nodes, &p->cap_nodes, p->nnodes, sizeof(node_t));
    fit((void **)&p->refs, &p->cap_refs, p->nrefs, sizeof(ref_t));
    fit((void **)&p->consts, &p->cap_consts, p->nconsts, sizeof(PyObject *));
    fit((void **)&p->ops, &p->cap_ops, p->nops, sizeof(uint32_t));
    fit((void **)&p->templates, &p->cap_templates, p->ntemplates, sizeof(template_t));
    fit((void **)&p->layouts, &p->cap_layouts, p->nlayouts, sizeof(layout_t));
    fit((void **)&p->keypool, &p->cap_keypool, p->nkeypool, sizeof(ref_t));
    fit((void **)&p->offpool, &p->cap_offpool, p->noffpool, sizeof(Py_ssize_t));
}

static void recorder_fini(recorder *r)
{
    if (r->b0_base != NULL) {
        clear_nodes(r->b0.objs, r->p ? r->p->nnodes : 0);
        PyMem_Free(r->b0_base);
        r->b0_base = NULL;
    }
    if (r->b0.ctx != NULL) {
        copium_gc_resume(&r->bs->core->gc);
        copium_ctx_release(r->b0.ctx);
        r->b0.ctx = NULL;
    }
    copium_memo_fini_indices(&r->memo);
    copium_memo_fini_indices(&r->const_of);
    copium_memo_fini_indices(&r->content);
    copium_keepalive_fini(&r->keep);
    PyMem_Free(r->origs);
    r->origs = NULL;
}

copium_plan *copium_plan_record(copium_batch_state *bs, PyObject *obj, copium_plan_mode mode,
                                PyObject *unpinned, PyObject **first)
{
    *first = NULL;
    recorder r;
    memset(&r, 0, sizeof(r));
    r.bs = bs;
    r.mode = mode;
    r.unpinned = unpinned;
    r.last_engine = -1;
    r.p = PyMem_Calloc(1, sizeof(copium_plan));
    if (r.p == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    r.p->bs = bs;
    if (copium_memo_init(&r.memo) < 0 || copium_memo_init(&r.const_of) < 0 ||
        copium_memo_init(&r.content) < 0 || copium_keepalive_init(&r.keep) < 0)
        goto error;
    copium_guard_prepare(&r.guard);
    ref_t root = rec(&r, obj);
    if (REF_FAILED(root))
        goto error;
    copium_plan *p = r.p;
    p->root = root;
    if (r.b0.ctx != NULL) {
        /* The first build, to the end: a copy, whose engine parts' copies are the sources. */
        if (catch_up(&r) < 0 || make_seeds(&r) < 0)
            goto error;
        if (mode == COPIUM_PLAN_REPLICATE)
            *first = Py_NewRef(root < 0 ? p->consts[~root] : r.b0.objs[root]);
    }
    drop_nops(p);
    if (make_templates(&r) < 0) {
        Py_CLEAR(*first);
        goto error;
    }
    shrink(p);
    p->quiet = builds_quietly(p);
    if (mark_moves(p) < 0) {
        Py_CLEAR(*first);
        goto error;
    }
    recorder_fini(&r);
    return p;
error:
    recorder_fini(&r);
    copium_plan_free(r.p);
    return NULL;
}

/* ---- the plan as an object's part ------------------------------------------------------ */

void copium_plan_free(copium_plan *p)
{
    if (p == NULL)
        return;
    /* Take everything out first: releasing a constant may run code. */
    PyObject **consts = p->consts;
    int32_t nconsts = p->nconsts;
    template_t *templates = p->templates;
    int32_t ntemplates = p->ntemplates;
    PyMem_Free(p->nodes);
    PyMem_Free(p->refs);
    PyMem_Free(p->ops);
    PyMem_Free(p->layouts);
    PyMem_Free(p->keypool);
    PyMem_Free(p->offpool);
    PyMem_Free(p->seed_keys);
    PyMem_Free(p->spare);
    PyMem_Free(p);
    for (int32_t i = 0; i < ntemplates; i++)
        Py_DECREF(templates[i].dict);
    PyMem_Free(templates);
    for (int32_t i = 0; i < nconsts; i++)
        Py_DECREF(consts[i]);
    PyMem_Free(consts);
}

int copium_plan_traverse(const copium_plan *p, visitproc visit, void *arg)
{
    for (int32_t i = 0; i < p->nconsts; i++)
        Py_VISIT(p->consts[i]);
    for (int32_t i = 0; i < p->ntemplates; i++)
        Py_VISIT(p->templates[i].dict);
    return 0;
}

int copium_plan_quiet(const copium_plan *p)
{
    return p->quiet;
}

size_t copium_plan_sizeof(const copium_plan *p)
{
    return sizeof(*p) + (size_t)p->cap_nodes * sizeof(node_t) +
           (size_t)p->cap_refs * sizeof(ref_t) + (size_t)p->cap_consts * sizeof(PyObject *) +
           (size_t)p->cap_ops * sizeof(uint32_t) + (size_t)p->cap_templates * sizeof(template_t) +
           (size_t)p->cap_layouts * sizeof(layout_t) + (size_t)p->cap_keypool * sizeof(ref_t) +
           (size_t)p->cap_offpool * sizeof(Py_ssize_t) +
           (p->seed_keys ? (size_t)p->nnodes * sizeof(int32_t) : 0) +
           (p->spare ? ((size_t)p->nconsts + (size_t)p->nnodes) * sizeof(PyObject *) : 0);
}

PyObject *copium_plan_info(const copium_plan *p)
{
    Py_ssize_t counts[K_COUNT] = {0}, recordable = 0;
    for (int32_t i = 0; i < p->nnodes; i++) {
        counts[p->nodes[i].kind]++;
        recordable += (p->nodes[i].flags & F_QUIET) != 0;
    }
    PyObject *kinds = PyDict_New();
    if (kinds == NULL)
        return NULL;
    for (int k = 0; k < K_COUNT; k++) {
        PyObject *v = PyLong_FromSsize_t(counts[k]);
        if (v == NULL || PyDict_SetItemString(kinds, kind_names[k], v) < 0) {
            Py_XDECREF(v);
            Py_DECREF(kinds);
            return NULL;
        }
        Py_DECREF(v);
    }
    return Py_BuildValue("{s:N,s:n,s:i,s:i,s:i,s:i,s:i,s:O,s:O,s:n}", "kinds", kinds, "recordable",
                         recordable, "nodes", (int)p->nnodes, "constants", (int)p->nconsts,
                         "templates", (int)p->ntemplates, "layouts", (int)p->nlayouts, "seeds",
                         (int)p->nseeds, "seeds_precise", p->seeds_precise ? Py_True : Py_False,
                         "quiet", p->quiet ? Py_True : Py_False, "bytes",
                         (Py_ssize_t)copium_plan_sizeof(p));
}
