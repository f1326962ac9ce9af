/* Pins (see pins.h). The table maps a pinned object's address to its Pin (the object, its
 * snapshot, a hit count); a Pin holds its object, so the address stays the object's for as
 * long as it is pinned. The registry's decorator hands out, for a type with pinned objects, a
 * wrapper of the type's handler: its deepcopy looks the object up (the engine's address hash,
 * computed already, is the table's hash) and builds a pinned object from its snapshot, or
 * delegates to the wrapped handler with the same flags. A type gets its wrapper when its first
 * object is pinned and loses it when its last one is unpinned (the registry's cache is
 * invalidated then), so the check costs nothing to types without pinned objects, and atoms
 * are never pinned.
 *
 * The table and the per-type entries change under the state's lock, held only around C code
 * that runs no Python code (a reference dropped there could run a finaliser: they are dropped
 * after unlocking). Where the GIL serialises threads, that code never releases it, so a
 * thread that holds the GIL never sees a change half made: lookups (one per object of a type
 * with pinned objects) take the lock only on free-threaded builds. */
#include "pins.h"

#if PY_VERSION_HEX < 0x030C0000
#include <structmember.h>
#define Py_T_OBJECT_EX T_OBJECT_EX
#define Py_READONLY    READONLY
#endif

#include "../core/engine.h"
#include "../core/explain.h"
#include "../core/registry.h"
#include "../protocol/stdlib.h"
#include "snapshot.h"

struct copium_pin_type {
    PyTypeObject *type; /* only compared: alive while count > 0 (a Pin holds an instance) */
    Py_ssize_t count;   /* pinned objects of exactly this type */
    const copium_handler *inner; /* the handler the registry found, as last decorated */
    copium_handler wrapper;
};

typedef struct {
    PyObject_HEAD PyObject *obj;
    PyObject *snapshot;
    Py_ssize_t hits;
} pin_object;

static void lock(copium_batch_state *s)
{
#if PY_VERSION_HEX >= 0x030D0000
    PyMutex_Lock(&s->lock);
#else
    /* Under the GIL it is never held by another thread when this one runs (nothing that
     * holds it waits or runs Python code): the first attempt succeeds. */
    if (!PyThread_acquire_lock(s->lock, NOWAIT_LOCK)) {
        Py_BEGIN_ALLOW_THREADS PyThread_acquire_lock(s->lock, WAIT_LOCK);
        Py_END_ALLOW_THREADS
    }
#endif
}

static void unlock(copium_batch_state *s)
{
#if PY_VERSION_HEX >= 0x030D0000
    PyMutex_Unlock(&s->lock);
#else
    PyThread_release_lock(s->lock);
#endif
}

/* The lock for a lookup: needed only where no GIL serialises the lookup with the changes. */
#ifdef Py_GIL_DISABLED
#define lock_reader(s)   lock(s)
#define unlock_reader(s) unlock(s)
#else
#define lock_reader(s)   ((void)(s))
#define unlock_reader(s) ((void)(s))
#endif

static copium_pin_type *find_type(copium_batch_state *s, PyTypeObject *type)
{
    for (Py_ssize_t i = 0; i < s->ntypes; i++) {
        if (s->types[i]->type == type)
            return s->types[i];
    }
    return NULL;
}

/* The entry of type, made if needed (under the lock: no Python code). NULL: MemoryError. */
static copium_pin_type *type_entry(copium_batch_state *s, PyTypeObject *type)
{
    copium_pin_type *e = find_type(s, type);
    if (e != NULL)
        return e;
    for (Py_ssize_t i = 0; i < s->ntypes; i++) {
        if (s->types[i]->count == 0) { /* an entry no longer used: its type may be gone */
            s->types[i]->type = type;
            return s->types[i];
        }
    }
    if (s->ntypes == s->cap_types) {
        Py_ssize_t cap = s->cap_types ? s->cap_types * 2 : 8;
        copium_pin_type **types = PyMem_Realloc(s->types, (size_t)cap * sizeof(*types));
        if (types == NULL)
            return NULL;
        s->types = types;
        s->cap_types = cap;
    }
    e = PyMem_Calloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    e->type = type;
    s->types[s->ntypes++] = e;
    return e;
}

/* ---- the registry's side ---------------------------------------------------------------- */

static PyObject *find_locked(copium_batch_state *s, PyObject *obj, copium_hash_t hash)
{
    if (s->pins.count == 0)
        return NULL;
    lock_reader(s);
    PyObject *pin = copium_memo_lookup(&s->pins, obj, hash);
    Py_XINCREF(pin);
    unlock_reader(s);
    return pin;
}

static PyObject *pinned_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash, void *data)
{
    const copium_handler *inner = ((copium_pin_type *)data)->inner;
    copium_batch_state *s = ctx->core->batch;
    PyObject *pin = s ? find_locked(s, obj, hash) : NULL;
    if (pin == NULL) {
        if (inner->deepcopy == NULL)
            return copium_deepcopy_default(ctx, obj, hash);
        return inner->deepcopy(ctx, obj, hash, inner->data);
    }
    PyObject *copy = NULL;
    COPIUM_EXPLAIN_NOTE(ctx, obj, COPIUM_PATH_PINNED, NULL);
    /* A snapshot with engine parts runs Python code: the call gets ready for it. */
    if (copium_pin_quiet(pin) || copium_before_python_code(ctx) == 0)
        copy = copium_pin_build(pin);
    Py_DECREF(pin);
    /* `if y is not x: memo[d] = y` */
    if (copy != NULL && copy != obj && copium_memo_store(ctx, obj, hash, copy) < 0)
        Py_CLEAR(copy);
    return copy;
}

static const copium_handler *decorate(PyTypeObject *type, const copium_handler *h, void *data)
{
    copium_batch_state *s = data;
    if (s->pins.count == 0 || (h->flags & COPIUM_HANDLER_ATOMIC))
        return h;
    lock_reader(s);
    copium_pin_type *e = find_type(s, type);
    if (e != NULL && e->count > 0) {
        e->inner = h;
        e->wrapper = (copium_handler){
            .struct_size = sizeof(copium_handler),
            .name = h->name,
            .flags = h->flags, /* QUIET stays: a pinned object's build says so itself */
            .deepcopy = pinned_deepcopy,
            .copy = h->copy,
            .data = e,
        };
        h = &e->wrapper;
    }
    unlock_reader(s);
    return h;
}

const copium_handler *copium_pins_unwrap(const copium_handler *h)
{
    return h->deepcopy == pinned_deepcopy ? ((copium_pin_type *)h->data)->inner : h;
}

PyObject *copium_pins_find(PyObject *obj, copium_hash_t hash)
{
    copium_batch_state *s = copium_batch();
    return s ? find_locked(s, obj, hash) : NULL;
}

PyObject *copium_pin_build(PyObject *pin)
{
    pin_object *p = (pin_object *)pin;
    copium_batch_state *s = copium_batch();
    if (s != NULL) {
        lock_reader(s);
        p->hits++;
        unlock_reader(s);
    }
    return copium_snapshot_build(p->snapshot);
}

int copium_pin_quiet(PyObject *pin)
{
    return copium_snapshot_quiet(((pin_object *)pin)->snapshot);
}

/* ---- the Python side -------------------------------------------------------------------- */

static int is_atom(copium_batch_state *s, PyObject *obj)
{
    return (copium_pins_unwrap(copium_registry_lookup(&s->core->registry, Py_TYPE(obj)))->flags &
            COPIUM_HANDLER_ATOMIC) != 0;
}

PyObject *copium_pins_pin(copium_batch_state *s, PyObject *obj)
{
    if (s == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "copium: the batch layer is not initialised");
        return NULL;
    }
    if (copium_handlers_sync(s->proto) < 0)
        return NULL;
    if (is_atom(s, obj)) {
        PyErr_Format(PyExc_TypeError,
                     "pin() cannot pin %.200s objects: deepcopy returns them as themselves "
                     "(atoms), there is nothing to rebuild",
                     Py_TYPE(obj)->tp_name);
        return NULL;
    }
    PyObject *snapshot = copium_snapshot_new(s, obj, obj);
    if (snapshot == NULL)
        return NULL;
    pin_object *pin = PyObject_GC_New(pin_object, s->pin_type);
    if (pin == NULL) {
        Py_DECREF(snapshot);
        return NULL;
    }
    pin->obj = Py_NewRef(obj);
    pin->snapshot = snapshot;
    pin->hits = 0;
    PyObject_GC_Track(pin);

    copium_hash_t hash = copium_hash_ptr(obj);
    lock(s);
    PyObject *old = copium_memo_lookup(&s->pins, obj, hash);
    Py_XINCREF(old); /* the table's reference to it is dropped below, under the lock */
    copium_pin_type *e = old ? find_type(s, Py_TYPE(obj)) : type_entry(s, Py_TYPE(obj));
    int rc = e ? copium_memo_insert(&s->pins, obj, hash, (PyObject *)pin) : -1;
    int first = 0;
    if (rc > 0)
        first = e->count++ == 0;
    unlock(s);
    Py_XDECREF(old);
    if (rc < 0) {
        Py_DECREF(pin);
        if (!PyErr_Occurred())
            PyErr_NoMemory();
        return NULL;
    }
    if (first)
        copium_registry_invalidate(
            &s->core->registry); /* the type resolves to the wrapper from now on */
    return (PyObject *)pin;
}

/* The table without obj's entry (rebuilt: pins are few, and unpinning is rare). */
static int rebuild_without(copium_batch_state *s, PyObject *obj)
{
    copium_memo fresh;
    if (copium_memo_init(&fresh) < 0)
        return -1;
    for (size_t n = 0; n < s->pins.count; n++) {
        const copium_memo_slot *slot = &s->pins.slots[s->pins.used[n]];
        if (slot->key != obj &&
            copium_memo_insert(&fresh, slot->key, copium_hash_ptr(slot->key), slot->value) < 0) {
            /* Nothing in fresh outlives the table: its releases free nothing. */
            copium_memo_fini(&fresh);
            return -1;
        }
    }
    copium_memo old = s->pins;
    s->pins = fresh;
    copium_memo_fini(&old); /* every value still has a reference: nothing is freed here */
    return 0;
}

int copium_pins_unpin(copium_batch_state *s, PyObject *obj)
{
    if (s == NULL)
        return 0;
    lock(s);
    PyObject *pin = copium_memo_lookup(&s->pins, obj, copium_hash_ptr(obj));
    if (pin == NULL) {
        unlock(s);
        return 0;
    }
    Py_INCREF(pin);
    int last = 0, rc = rebuild_without(s, obj);
    if (rc == 0) {
        copium_pin_type *e = find_type(s, Py_TYPE(obj));
        last = e != NULL && --e->count == 0;
    }
    unlock(s);
    if (last)
        copium_registry_invalidate(&s->core->registry);
    Py_DECREF(pin);
    if (rc < 0) {
        PyErr_NoMemory();
        return -1;
    }
    return 1;
}

PyObject *copium_pins_list(copium_batch_state *s)
{
    if (s == NULL)
        return PyList_New(0);
    lock(s);
    size_t n = s->pins.count;
    PyObject **pins = PyMem_New(PyObject *, n ? n : 1);
    if (pins != NULL) {
        for (size_t i = 0; i < n; i++)
            pins[i] = Py_NewRef(s->pins.slots[s->pins.used[i]].value);
    }
    unlock(s);
    if (pins == NULL)
        return PyErr_NoMemory();
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; i < n; i++) {
        if (list != NULL)
            PyList_SET_ITEM(list, (Py_ssize_t)i, pins[i]);
        else
            Py_DECREF(pins[i]);
    }
    PyMem_Free(pins);
    return list;
}

Py_ssize_t copium_pins_clear(copium_batch_state *s)
{
    if (s == NULL)
        return 0;
    copium_memo fresh;
    if (copium_memo_init(&fresh) < 0)
        return -1;
    lock(s);
    copium_memo old = s->pins;
    s->pins = fresh;
    for (Py_ssize_t i = 0; i < s->ntypes; i++)
        s->types[i]->count = 0;
    unlock(s);
    copium_registry_invalidate(&s->core->registry);
    Py_ssize_t n = (Py_ssize_t)old.count;
    copium_memo_fini(&old); /* outside the lock: a Pin freed here may run code */
    return n;
}

int copium_pins_init(copium_batch_state *s)
{
    if (copium_memo_init(&s->pins) < 0)
        return -1;
    copium_registry_set_decorator(&s->core->registry, decorate, s);
    return 0;
}

void copium_pins_fini(copium_batch_state *s)
{
    copium_registry_set_decorator(&s->core->registry, NULL, NULL);
    copium_pins_clear(s);
    copium_memo_fini(&s->pins);
    for (Py_ssize_t i = 0; i < s->ntypes; i++)
        PyMem_Free(s->types[i]);
    PyMem_Free(s->types);
    s->types = NULL;
    s->ntypes = s->cap_types = 0;
}

/* ---- the Pin type ----------------------------------------------------------------------- */

static int pin_traverse(pin_object *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->obj);
    Py_VISIT(self->snapshot);
    return 0;
}

static int pin_clear(pin_object *self)
{
    Py_CLEAR(self->obj);
    Py_CLEAR(self->snapshot);
    return 0;
}

static void pin_dealloc(pin_object *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    pin_clear(self);
    tp->tp_free(self);
    Py_DECREF(tp);
}

static PyObject *pin_repr(pin_object *self)
{
    if (self->obj == NULL)
        return PyUnicode_FromString("<copium.extra.Pin (cleared)>");
    return PyUnicode_FromFormat("<copium.extra.Pin of a %s at %p: %zd hits>",
                                Py_TYPE(self->obj)->tp_name, (void *)self->obj, self->hits);
}

static PyObject *pin_hits(pin_object *self, void *closure)
{
    (void)closure;
    return PyLong_FromSsize_t(self->hits);
}

static PyMemberDef pin_members[] = {
    {"obj", Py_T_OBJECT_EX, offsetof(pin_object, obj), Py_READONLY,
     PyDoc_STR("The pinned object.")},
    {"snapshot", Py_T_OBJECT_EX, offsetof(pin_object, snapshot), Py_READONLY,
     PyDoc_STR("The snapshot its copies are built from.")},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef pin_getset[] = {
    {"hits", (getter)pin_hits, NULL, PyDoc_STR("How many copies were built from this pin so far."),
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef pin_methods[] = {
    {"__class_getitem__", Py_GenericAlias, METH_O | METH_CLASS, PyDoc_STR("See PEP 585")},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot pin_slots[] = {
    {Py_tp_doc, (void *)PyDoc_STR("A pinned object, made by copium.extra.pin(obj): while it is "
                                  "pinned, deep copies build obj from its snapshot.")},
    {Py_tp_dealloc, (void *)pin_dealloc},
    {Py_tp_traverse, (void *)pin_traverse},
    {Py_tp_clear, (void *)pin_clear},
    {Py_tp_repr, (void *)pin_repr},
    {Py_tp_members, pin_members},
    {Py_tp_getset, pin_getset},
    {Py_tp_methods, pin_methods},
    {0, NULL},
};

PyType_Spec copium_pin_spec = {
    .name = "copium.extra.Pin",
    .basicsize = sizeof(pin_object),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_DISALLOW_INSTANTIATION |
             Py_TPFLAGS_IMMUTABLETYPE,
    .slots = pin_slots,
};
