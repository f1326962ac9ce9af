/* Batch deep copies (see replicate.h): record the plan of one deep copy, then build n copies
 * from it.
 *
 * The plan is a list of nodes, one per object a deep copy creates, in the order the engine
 * creates them: a list or dict when its copy is memoized (before its items), a tuple, set or
 * frozenset once its items are copied. Each node's items are refs: a ref >= 0 names an earlier
 * or later node (the copy of that original within the same copy), a ref < 0 names a constant
 * (an original object every copy shares: an atom, or a tuple whose items all copy to
 * themselves). Building a copy takes two passes over the nodes: the first creates every object
 * (lists empty but sized, dicts empty, tuples and sets complete, since their items are always
 * created before them), the second fills the lists and dicts, whose items may be created
 * after them (a cycle, or simply their children). Nothing is hashed but dict keys and set
 * elements, which building any dict or set must hash.
 *
 * From the second copy on, a dict whose keys are all constants (the usual case: str keys) is
 * made by PyDict_Copy of its counterpart in the first copy, a copy of its hash table, and only
 * the values that are new objects are then replaced. The first copy is built by insertion, as
 * the engine builds it, so every copy has the size the engine's copy has. */
#include "replicate.h"

#include <stdint.h>
#include <string.h>

#include "../core/guard.h"
#include "../core/hash.h"
#include "../core/listbuild.h"
#include "../core/registry.h"
#include "handlers.h"

enum { K_LIST, K_DICT, K_TUPLE, K_SET, K_FROZENSET };

typedef Py_ssize_t ref_t;
/* rec()'s two answers that are not refs. Constants are ~index, never as low as these. */
#define REF_ERROR       PY_SSIZE_T_MIN
#define REF_UNSUPPORTED (PY_SSIZE_T_MIN + 1)
#define REF_FAILED(r)   ((r) <= REF_UNSUPPORTED)
#define MEMO_ABSENT     (-1)

typedef struct {
    uint8_t kind;
    uint8_t keys_const; /* dicts: every key is a constant */
    Py_ssize_t n;       /* items (a dict: items pairs, key first) */
    Py_ssize_t items;   /* index of the first ref in plan.refs */
} node_t;

typedef struct {
    const void *key; /* NULL: empty */
    ref_t ref;
} memo_slot;

typedef struct {
    node_t *nodes;
    Py_ssize_t nnodes, cap_nodes;
    ref_t *refs;
    Py_ssize_t nrefs, cap_refs;
    PyObject **consts; /* strong references */
    Py_ssize_t nconsts, cap_consts;
    /* Recording only: original address -> ref of its copy. */
    memo_slot *memo;
    size_t memo_mask, memo_count;
    /* Per node, the dict of the first copy that later copies clone (strong), or NULL. */
    PyObject **templates;
    copium_guard guard; /* the engine's recursion guard, for this plan's recording */
} plan_t;

static int grow(void **array, Py_ssize_t *cap, Py_ssize_t need, size_t elsize)
{
    if (need <= *cap)
        return 0;
    Py_ssize_t new_cap = *cap ? *cap : 16;
    while (new_cap < need)
        new_cap *= 2;
    if ((size_t)new_cap > PY_SSIZE_T_MAX / elsize) {
        PyErr_NoMemory();
        return -1;
    }
    void *p = PyMem_Realloc(*array, (size_t)new_cap * elsize);
    if (p == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    *array = p;
    *cap = new_cap;
    return 0;
}

/* ---- the recording memo: an open-addressing table keyed by address ---------------------- */

static ref_t memo_get(const plan_t *p, const void *key, copium_hash_t hash)
{
    if (p->memo == NULL)
        return MEMO_ABSENT;
    size_t i = (size_t)hash & p->memo_mask;
    for (;;) {
        const memo_slot *s = &p->memo[i];
        if (s->key == key)
            return s->ref;
        if (s->key == NULL)
            return MEMO_ABSENT;
        i = (i + 1) & p->memo_mask;
    }
}

/* 1 when key is new, 0 when its ref was replaced. */
static int memo_place(memo_slot *table, size_t mask, const void *key, copium_hash_t hash, ref_t ref)
{
    size_t i = (size_t)hash & mask;
    while (table[i].key != NULL && table[i].key != key)
        i = (i + 1) & mask;
    int is_new = table[i].key == NULL;
    table[i].key = key;
    table[i].ref = ref;
    return is_new;
}

/* The table holds a strong reference to each original it names, as the engine's keepalive
 * does: an address stays unique for as long as the recording lasts. */
static void memo_free(plan_t *p)
{
    if (p->memo != NULL) {
        for (size_t i = 0; i <= p->memo_mask; i++) {
            if (p->memo[i].key != NULL)
                Py_DECREF((PyObject *)p->memo[i].key);
        }
    }
    PyMem_Free(p->memo);
    p->memo = NULL;
    p->memo_count = 0;
}

static int memo_put(plan_t *p, PyObject *key, copium_hash_t hash, ref_t ref)
{
    size_t cap = p->memo ? p->memo_mask + 1 : 0;
    if ((p->memo_count + 1) * 2 > cap) {
        size_t new_cap = cap ? cap * 2 : 64;
        memo_slot *table = PyMem_Calloc(new_cap, sizeof(memo_slot));
        if (table == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        for (size_t i = 0; i < cap; i++) {
            if (p->memo[i].key != NULL)
                memo_place(table, new_cap - 1, p->memo[i].key, copium_hash_ptr(p->memo[i].key),
                           p->memo[i].ref);
        }
        PyMem_Free(p->memo);
        p->memo = table;
        p->memo_mask = new_cap - 1;
    }
    if (memo_place(p->memo, p->memo_mask, key, hash, ref)) {
        Py_INCREF(key);
        p->memo_count++;
    }
    return 0;
}

/* ---- recording ---------------------------------------------------------------------------- */

static ref_t add_const(plan_t *p, PyObject *obj)
{
    if (grow((void **)&p->consts, &p->cap_consts, p->nconsts + 1, sizeof(PyObject *)) < 0)
        return REF_ERROR;
    p->consts[p->nconsts] = Py_NewRef(obj);
    return ~p->nconsts++;
}

/* Room for n refs; returns the index of the first, or -1 with MemoryError. */
static Py_ssize_t reserve_refs(plan_t *p, Py_ssize_t n)
{
    if (grow((void **)&p->refs, &p->cap_refs, p->nrefs + n, sizeof(ref_t)) < 0)
        return -1;
    Py_ssize_t first = p->nrefs;
    p->nrefs += n;
    return first;
}

static ref_t add_node(plan_t *p, int kind, Py_ssize_t n, Py_ssize_t items)
{
    if (grow((void **)&p->nodes, &p->cap_nodes, p->nnodes + 1, sizeof(node_t)) < 0)
        return REF_ERROR;
    node_t *nd = &p->nodes[p->nnodes];
    nd->kind = (uint8_t)kind;
    nd->keys_const = 1;
    nd->n = n;
    nd->items = items;
    return p->nnodes++;
}

static ref_t rec(plan_t *p, PyObject *obj);

/* _deepcopy_list: memoized first, then the items in order. */
static ref_t rec_list(plan_t *p, PyObject *obj, copium_hash_t hash)
{
    Py_ssize_t n = PyList_GET_SIZE(obj);
    Py_ssize_t items = reserve_refs(p, n);
    if (items < 0)
        return REF_ERROR;
    ref_t self = add_node(p, K_LIST, n, items);
    if (REF_FAILED(self) || memo_put(p, obj, hash, self) < 0)
        return REF_ERROR;
    for (Py_ssize_t i = 0; i < n; i++) {
        /* Recording runs no Python code that could change the list; should any, the engine
         * takes over, with its exact semantics. */
        if (PyList_GET_SIZE(obj) != n)
            return REF_UNSUPPORTED;
        PyObject *item = Py_NewRef(PyList_GET_ITEM(obj, i));
        ref_t r = rec(p, item);
        Py_DECREF(item);
        if (REF_FAILED(r))
            return r;
        p->refs[items + i] = r;
    }
    return self;
}

/* _deepcopy_dict: memoized first, then per item the value, then the key. */
static ref_t rec_dict(plan_t *p, PyObject *obj, copium_hash_t hash)
{
    Py_ssize_t n = PyDict_GET_SIZE(obj);
    Py_ssize_t items = reserve_refs(p, 2 * n);
    if (items < 0)
        return REF_ERROR;
    ref_t self = add_node(p, K_DICT, n, items);
    if (REF_FAILED(self) || memo_put(p, obj, hash, self) < 0)
        return REF_ERROR;
    Py_ssize_t pos = 0, i = 0;
    PyObject *key, *value;
    while (PyDict_Next(obj, &pos, &key, &value)) {
        if (i >= n || PyDict_GET_SIZE(obj) != n)
            return REF_UNSUPPORTED;
        Py_INCREF(key);
        Py_INCREF(value);
        ref_t vr = rec(p, value);
        ref_t kr = REF_FAILED(vr) ? vr : rec(p, key);
        Py_DECREF(key);
        Py_DECREF(value);
        if (REF_FAILED(kr))
            return kr;
        p->refs[items + 2 * i] = kr;
        p->refs[items + 2 * i + 1] = vr;
        if (kr >= 0)
            p->nodes[self].keys_const = 0;
        i++;
    }
    if (i != n || PyDict_GET_SIZE(obj) != n)
        return REF_UNSUPPORTED;
    return self;
}

/* _deepcopy_tuple: the items first; then a copy memoized meanwhile (the tuple is part of a
 * cycle through a list or dict) wins; a tuple whose items all copy to themselves is the tuple
 * itself, shared by every copy and never memoized. */
static ref_t rec_tuple(plan_t *p, PyObject *obj, copium_hash_t hash)
{
    Py_ssize_t n = PyTuple_GET_SIZE(obj);
    if (n == 0)
        return add_const(p, obj);
    Py_ssize_t items = reserve_refs(p, n);
    if (items < 0)
        return REF_ERROR;
    Py_ssize_t consts_before = p->nconsts;
    int changed = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        ref_t r = rec(p, PyTuple_GET_ITEM(obj, i));
        if (REF_FAILED(r))
            return r;
        p->refs[items + i] = r;
        changed |= r >= 0;
    }
    ref_t found = memo_get(p, obj, hash);
    if (found != MEMO_ABSENT)
        return found;
    if (!changed) {
        /* Only constants were added for the items, and only this tuple refers to them. */
        if (p->nrefs == items + n)
            p->nrefs = items;
        while (p->nconsts > consts_before)
            Py_DECREF(p->consts[--p->nconsts]);
        return add_const(p, obj);
    }
    ref_t self = add_node(p, K_TUPLE, n, items);
    if (REF_FAILED(self) || memo_put(p, obj, hash, self) < 0)
        return REF_ERROR;
    return self;
}

/* set and frozenset: the elements (a snapshot, in iteration order) first, then a new set or
 * frozenset built from their copies, memoized last. */
static ref_t rec_set(plan_t *p, PyObject *obj, copium_hash_t hash, int kind)
{
    PyObject *snapshot = PySequence_List(obj);
    if (snapshot == NULL)
        return REF_ERROR;
    Py_ssize_t n = PyList_GET_SIZE(snapshot);
    Py_ssize_t items = reserve_refs(p, n);
    ref_t self = items < 0 ? REF_ERROR : 0;
    for (Py_ssize_t i = 0; i < n && !REF_FAILED(self); i++) {
        ref_t r = rec(p, PyList_GET_ITEM(snapshot, i));
        if (REF_FAILED(r))
            self = r;
        else
            p->refs[items + i] = r;
    }
    Py_DECREF(snapshot);
    if (REF_FAILED(self))
        return self;
    self = add_node(p, kind, n, items);
    if (REF_FAILED(self) || memo_put(p, obj, hash, self) < 0)
        return REF_ERROR;
    return self;
}

/* The engine's path for one object (copium_deepcopy_child): atoms as themselves, then the
 * memo, then the handler; only the builtin container handlers can be planned. */
static ref_t rec(plan_t *p, PyObject *obj)
{
    PyTypeObject *type = Py_TYPE(obj);
    const copium_handler *h = copium_registry_lookup(type);
    if (h->flags & COPIUM_HANDLER_ATOMIC)
        return add_const(p, obj);
    copium_hash_t hash = copium_hash_ptr(obj);
    ref_t found = memo_get(p, obj, hash);
    if (found != MEMO_ABSENT)
        return found;
    int kind;
    if (type == &PyDict_Type && h->deepcopy == copium_dict_handler.deepcopy)
        kind = K_DICT;
    else if (type == &PyList_Type && h->deepcopy == copium_list_handler.deepcopy)
        kind = K_LIST;
    else if (type == &PyTuple_Type && h->deepcopy == copium_tuple_handler.deepcopy)
        kind = K_TUPLE;
    else if (type == &PySet_Type && h->deepcopy == copium_set_handler.deepcopy)
        kind = K_SET;
    else if (type == &PyFrozenSet_Type && h->deepcopy == copium_frozenset_handler.deepcopy)
        kind = K_FROZENSET;
    else
        return REF_UNSUPPORTED;
    /* The engine's recursion guard, so that the plan goes exactly as deep as the engine can;
     * deeper, the engine takes over and raises its own RecursionError. */
    if (copium_guard_enter(&p->guard) < 0) {
        PyErr_Clear();
        return REF_UNSUPPORTED;
    }
    ref_t r;
    switch (kind) {
    case K_DICT:
        r = rec_dict(p, obj, hash);
        break;
    case K_LIST:
        r = rec_list(p, obj, hash);
        break;
    case K_TUPLE:
        r = rec_tuple(p, obj, hash);
        break;
    default:
        r = rec_set(p, obj, hash, kind);
        break;
    }
    copium_guard_leave(&p->guard);
    return r;
}

static void plan_free(plan_t *p)
{
    for (Py_ssize_t i = 0; i < p->nconsts; i++)
        Py_DECREF(p->consts[i]);
    if (p->templates != NULL) {
        for (Py_ssize_t i = 0; i < p->nnodes; i++)
            Py_XDECREF(p->templates[i]);
    }
    PyMem_Free(p->templates);
    PyMem_Free(p->nodes);
    PyMem_Free(p->refs);
    PyMem_Free(p->consts);
    memo_free(p);
    memset(p, 0, sizeof(*p));
}

/* ---- building a copy ---------------------------------------------------------------------- */

static inline PyObject *deref(const plan_t *p, PyObject *const *slots, ref_t r)
{
    return r < 0 ? p->consts[~r] : slots[r];
}

/* One copy from the plan. slots: room for every node (all NULL on entry and on return).
 * With capture, the dicts later copies clone are kept in p->templates. New reference. */
static PyObject *build(plan_t *p, ref_t root, PyObject **slots, int capture)
{
    Py_ssize_t i;
    /* Pass 1: create every object, in creation order. */
    for (i = 0; i < p->nnodes; i++) {
        const node_t *nd = &p->nodes[i];
        const ref_t *refs = p->refs + nd->items;
        PyObject *o = NULL;
        switch (nd->kind) {
        case K_LIST:
            o = PyList_New(nd->n);
            if (o != NULL)
                Py_SET_SIZE(o, 0); /* a valid empty list until pass 2 fills it */
            break;
        case K_DICT:
            if (p->templates != NULL && p->templates[i] != NULL)
                o = PyDict_Copy(p->templates[i]);
            else
                o = PyDict_New();
            break;
        case K_TUPLE:
            o = PyTuple_New(nd->n);
            if (o != NULL) {
                for (Py_ssize_t j = 0; j < nd->n; j++)
                    PyTuple_SET_ITEM(o, j, Py_NewRef(deref(p, slots, refs[j])));
            }
            break;
        default:
            o = nd->kind == K_SET ? PySet_New(NULL) : PyFrozenSet_New(NULL);
            for (Py_ssize_t j = 0; o != NULL && j < nd->n; j++) {
                if (PySet_Add(o, deref(p, slots, refs[j])) < 0)
                    Py_CLEAR(o);
            }
            break;
        }
        if (o == NULL)
            goto error;
        slots[i] = o;
    }
    /* Pass 2: fill the lists and dicts, whose items now all exist. */
    for (i = 0; i < p->nnodes; i++) {
        const node_t *nd = &p->nodes[i];
        const ref_t *refs = p->refs + nd->items;
        PyObject *o = slots[i];
        if (nd->kind == K_LIST) {
            for (Py_ssize_t j = 0; j < nd->n; j++)
                PyList_SET_ITEM(o, j, Py_NewRef(deref(p, slots, refs[j])));
            Py_SET_SIZE(o, nd->n);
        } else if (nd->kind == K_DICT) {
            if (p->templates != NULL && p->templates[i] != NULL) {
                /* A clone of the first copy's dict: replace the values that are new objects
                 * (the keys, constants, are the very objects the clone holds). */
                for (Py_ssize_t j = 0; j < nd->n; j++) {
                    ref_t vr = refs[2 * j + 1];
                    if (vr >= 0 && PyDict_SetItem(o, p->consts[~refs[2 * j]], slots[vr]) < 0)
                        goto error_filled;
                }
            } else {
                for (Py_ssize_t j = 0; j < nd->n; j++) {
                    if (PyDict_SetItem(o, deref(p, slots, refs[2 * j]),
                                       deref(p, slots, refs[2 * j + 1])) < 0)
                        goto error_filled;
                }
            }
            if (capture && nd->keys_const && nd->n > 0)
                p->templates[i] = Py_NewRef(o);
        }
    }
    PyObject *result = Py_NewRef(deref(p, slots, root));
    for (i = 0; i < p->nnodes; i++)
        Py_CLEAR(slots[i]);
    return result;
error_filled:
    i = p->nnodes;
error:
    while (i > 0) {
        i--;
        Py_CLEAR(slots[i]);
    }
    return NULL;
}

/* ---- building ---------------------------------------------------------------------------- */

/* Whether hashing and comparing obj runs no Python code: exact str, int, float, complex,
 * bytes, bool, None, and tuples of those. */
static int hashes_quietly(PyObject *obj, int depth)
{
    PyTypeObject *t = Py_TYPE(obj);
    if (t == &PyUnicode_Type || t == &PyLong_Type || t == &PyFloat_Type || t == &PyBool_Type ||
        t == &PyBytes_Type || t == &PyComplex_Type || obj == Py_None)
        return 1;
    if (t != &PyTuple_Type || depth > 8)
        return 0;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(obj); i++) {
        if (!hashes_quietly(PyTuple_GET_ITEM(obj, i), depth + 1))
            return 0;
    }
    return 1;
}

/* The same for what ref names in a copy: a constant as above, or a new tuple of such (a new
 * frozenset hashes its stored element hashes; its elements are checked as set elements). */
static int ref_hashes_quietly(const plan_t *p, ref_t r, int depth)
{
    if (r < 0)
        return hashes_quietly(p->consts[~r], depth);
    const node_t *nd = &p->nodes[r];
    if (nd->kind == K_FROZENSET)
        return 1;
    if (nd->kind != K_TUPLE || depth > 8)
        return 0;
    for (Py_ssize_t j = 0; j < nd->n; j++) {
        if (!ref_hashes_quietly(p, p->refs[nd->items + j], depth + 1))
            return 0;
    }
    return 1;
}

/* Whether building a copy from the plan runs no Python code at all: objects are created and
 * filled by C code, and the only calls out are the hashes and equality tests of dict keys and
 * set elements. */
static int builds_quietly(const plan_t *p)
{
    for (Py_ssize_t i = 0; i < p->nnodes; i++) {
        const node_t *nd = &p->nodes[i];
        int step = nd->kind == K_DICT ? 2 : 1;
        if (nd->kind != K_DICT && nd->kind != K_SET && nd->kind != K_FROZENSET)
            continue;
        for (Py_ssize_t j = 0; j < nd->n * step; j += step) {
            if (!ref_hashes_quietly(p, p->refs[nd->items + j], 0))
                return 0;
        }
    }
    return 1;
}

int copium_replicate(PyObject *obj, Py_ssize_t n, PyObject *result)
{
    int paused = 0; /* the collector was paused here (error paths read it too) */
    plan_t p;
    memset(&p, 0, sizeof(p));
    copium_guard_prepare(&p.guard);
    ref_t root = rec(&p, obj);
    if (REF_FAILED(root)) {
        plan_free(&p);
        return root == REF_ERROR ? -1 : 0;
    }
    memo_free(&p);
    PyObject **slots = NULL;
    if (p.nnodes > 0) {
        slots = PyMem_Calloc((size_t)p.nnodes, sizeof(PyObject *));
        p.templates = PyMem_Calloc((size_t)p.nnodes, sizeof(PyObject *));
        if (slots == NULL || p.templates == NULL) {
            PyErr_NoMemory();
            goto error;
        }
    }
    /* The cyclic collector is paused while the copies are built, when no Python code can run
     * meanwhile (nothing could see it paused): it would only traverse, again and again, new
     * objects that are all reachable. It runs as usual right after, on all of them at once. */
    paused = builds_quietly(&p) ? PyGC_Disable() : 0;
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *copy = build(&p, root, slots, k == 0);
        if (copy == NULL || copium_list_append_steal(result, copy) < 0)
            goto error;
    }
    if (paused)
        PyGC_Enable();
    PyMem_Free(slots);
    plan_free(&p);
    return 1;
error:
    if (paused)
        PyGC_Enable();
    PyMem_Free(slots);
    plan_free(&p);
    return -1;
}
