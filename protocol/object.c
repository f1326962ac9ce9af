/* The native path for instances whose type keeps object's default reduce protocol: plain
 * classes, dataclasses, __slots__ classes. For them stdlib calls object.__reduce_ex__(4), which
 * gives (copyreg.__newobj__, (cls,), state) with state = None, x.__dict__ (when not empty), or
 * (x.__dict__ or None, {slot: value for each set slot}) (Objects/typeobject.c,
 * object_getstate_default), and _reconstruct then makes object.__new__(cls), memoizes it, and
 * fills __dict__ with dict.update and the slots with setattr. This file does the same without
 * building the reduce value, the argument tuple or the state containers.
 *
 * A type qualifies when every step of stdlib's lookup order before the reduce is a no-op for it
 * and the reduce is object's own: no entry in copy._deepcopy_dispatch / _copy_dispatch /
 * copyreg.dispatch_table, not a class, no __deepcopy__ / __copy__, object's __reduce_ex__,
 * __reduce__ and __getstate__, no __setstate__, __getnewargs__ or __getnewargs_ex__, object's
 * __new__ (tp_new), generic attribute access (no __getattr__ / __getattribute__, so that
 * getattr(x, name) is the type's MRO plus the instance dict), no list or dict base, and the
 * size check object_getstate_default applies passes. Those facts are cached per type and
 * trusted while the type's version tag (which CPython changes on any change to the type or a
 * base) and copium's stdlib epoch are unchanged; the instance's own dict is checked per object
 * for __deepcopy__, __reduce_ex__ and __getstate__, which getattr would find there. Changes to
 * a metaclass after a type was cached are not tracked (a metaclass would have to gain a
 * __copy__ or a data descriptor named __new__ or __reduce__).
 *
 * The identity of x.__dict__: stdlib deep-copies the state, so memo[id(x.__dict__)] holds a
 * dict D' distinct from y.__dict__ (which receives D' through update). Where the memo is
 * visible to Python (a caller's memo, or one handed to a __deepcopy__ already) that is what
 * copium does too: it builds the state stdlib would build and runs it through the reduce code.
 * With only the native memo (no Python code can read it), values are copied straight into
 * y.__dict__ and x.__dict__ is not memoized; if x.__dict__ was copied before, its copy is
 * used, as stdlib would; if it is met later, it is copied then, to a dict whose values are the
 * same memoized copies. The graph is the same shape as stdlib's either way: D' is only ever
 * referenced by what referenced x.__dict__. */
#include "object.h"

#include "../core/compat.h"
#include "../core/engine.h"
#include "../handlers/dict.h"
#include "../handlers/dict_table.h"
#include "../handlers/dictiter.h"
#include "culprit.h"
#include "reduce.h"
#include "stdlib.h"

#include <string.h>

#if PY_VERSION_HEX >= 0x030C0000
#define SLOT_MEMBER_TYPE Py_T_OBJECT_EX
#else
#include <structmember.h>
#define SLOT_MEMBER_TYPE T_OBJECT_EX
#endif

typedef struct {
    PyTypeObject *type;   /* borrowed: a dead type's address never comes back with its tag */
    unsigned int version; /* type's version tag when computed; 0: do not cache */
    uint64_t epoch;       /* P->stdlib.epoch when computed */
    unsigned char deep_ok, copy_ok, has_dict;
    /* Deep copy of an instance reaches getattr(x, "__reduce_ex__") with nothing before it to
     * look at: no entry in the tables, not a class, no __deepcopy__ on the type and no
     * instance dict for one to be in, generic getattr, metaclass exactly type (a table lookup
     * with the class as key runs no code). */
    unsigned char deep_reduce;
    /* deep_reduce holds only if the instance dict has no __deepcopy__ (checked per object). */
    unsigned char dict_checks;
    /* With deep_reduce: object's __reduce_ex__ and a Python function as the class's
     * __reduce__ (borrowed, valid under the version tag), which object.__reduce_ex__(4)
     * calls, unless the instance dict holds either name. */
    PyObject *reduce_func;
    unsigned char names_known; /* slotnames fetched (only once a path needs them) */
    Py_ssize_t allowance;      /* basicsize object_getstate_default allows, slots aside */
    PyObject *slotnames;       /* list from copyreg._slotnames (strong), NULL for None */
    /* When every slot name resolves to a plain __slots__ member (what getattr and setattr then
     * do is read and write a field): the names as they were (a tuple, compared per object with
     * the list, which a program could change in place) and each field's offset (PyMem). */
    PyObject *slot_snapshot;
    Py_ssize_t *offsets;
    unsigned char direct_set; /* generic setattr: setattr(y, slot, v) writes the field */
    /* __sizeof__ of an instance dict that shares the class's keys (all such dicts report the
     * same: the shared table's capacity); 0 until measured. */
    Py_ssize_t split_sizeof;
} type_info;

/* Per interpreter (the protocol state's object_cache): types and their facts are. */
#define TYPE_CACHE_SIZE 128
struct copium_object_cache {
    type_info entries[TYPE_CACHE_SIZE];
};

/* Release what info owns (it may be a cache entry: leave it consistent first). */
static void info_release(type_info *info)
{
    PyObject *names = info->slotnames, *snapshot = info->slot_snapshot;
    Py_ssize_t *offsets = info->offsets;
    info->slotnames = info->slot_snapshot = NULL;
    info->offsets = NULL;
    info->type = NULL;
    info->version = 0;
    PyMem_Free(offsets);
    Py_XDECREF(snapshot);
    Py_XDECREF(names);
}

static void clear_cache(copium_protocol *P)
{
    if (P->object_cache == NULL)
        return;
    for (size_t i = 0; i < TYPE_CACHE_SIZE; i++)
        info_release(&P->object_cache->entries[i]);
}

int copium_object_cache_init(copium_protocol *P)
{
    P->object_cache = PyMem_Calloc(1, sizeof(*P->object_cache));
    if (P->object_cache == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

void copium_object_cache_fini(copium_protocol *P)
{
    clear_cache(P);
    PyMem_Free(P->object_cache);
    P->object_cache = NULL;
}

/* Resolve each slot name to its __slots__ member field, as generic getattr would find it. */
static void resolve_slots(PyTypeObject *tp, type_info *info)
{
    PyObject *names = info->slotnames;
    Py_ssize_t n = PyList_GET_SIZE(names);
    if (n == 0)
        return;
    Py_ssize_t *offsets = PyMem_Malloc(n * sizeof(Py_ssize_t));
    if (offsets == NULL)
        return; /* the attribute path works without it */
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *name = PyList_GET_ITEM(names, i);
        PyObject *descr = PyUnicode_CheckExact(name) ? copium_type_lookup(tp, name) : NULL;
        if (descr == NULL || !Py_IS_TYPE(descr, &PyMemberDescr_Type)) {
            PyMem_Free(offsets);
            return;
        }
        PyMemberDef *m = ((PyMemberDescrObject *)descr)->d_member;
        if (m->type != SLOT_MEMBER_TYPE || m->flags != 0 || m->offset <= 0 ||
            m->offset + (Py_ssize_t)sizeof(PyObject *) > tp->tp_basicsize) {
            PyMem_Free(offsets);
            return;
        }
        offsets[i] = m->offset;
    }
    info->slot_snapshot = PyList_AsTuple(names);
    if (info->slot_snapshot == NULL) {
        PyErr_Clear();
        PyMem_Free(offsets);
        return;
    }
    info->offsets = offsets;
    info->direct_set = tp->tp_setattro == PyObject_GenericSetAttr;
}

/* _PyType_GetSlotNames: cls.__dict__["__slotnames__"], else copyreg._slotnames(cls) (which
 * caches its answer there; *called is then set). New reference to a list or None; NULL with an
 * error, or NULL without one for a value stdlib would reject (the reduce path then raises). */
static PyObject *slot_names(copium_protocol *P, PyTypeObject *tp, int *called)
{
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *dict = PyType_GetDict(tp);
#else
    PyObject *dict = Py_XNewRef(tp->tp_dict);
#endif
    if (dict == NULL)
        return NULL;
    PyObject *names;
    int rc = copium_dict_get_ref(dict, P->names.slotnames, &names);
    Py_DECREF(dict);
    if (rc < 0)
        return NULL;
    if (rc == 0) {
        if (P->stdlib.slotnames_func == NULL)
            return NULL;
        *called = 1;
        names = PyObject_CallOneArg(P->stdlib.slotnames_func, (PyObject *)tp);
        if (names == NULL)
            return NULL;
    }
    if (names != Py_None && !PyList_Check(names)) {
        Py_DECREF(names);
        return NULL;
    }
    return names;
}

/* Does the metaclass hold `name` as a data descriptor (which would win over the class's own
 * attribute in `cls.name`)? */
static int meta_data_descriptor(PyTypeObject *tp, PyObject *name)
{
    PyObject *attr = copium_type_lookup(Py_TYPE(tp), name);
    return attr != NULL && Py_TYPE(attr)->tp_descr_set != NULL;
}

/* The facts for tp; slot names only when the `deep` (or shallow) path qualifies: fetching them
 * may call copyreg._slotnames, which stores cls.__slotnames__, and stdlib does that only when
 * it reaches object.__reduce_ex__. */
static void compute(copium_protocol *P, PyTypeObject *tp, int deep, type_info *info)
{
    memset(info, 0, sizeof(*info));
    info->type = tp;
    info->epoch = P->stdlib.epoch;
    /* The version the facts below are computed under: they are cached only if it still holds
     * at the end (code run meanwhile, a finaliser say, may have changed the type). */
#if PY_VERSION_HEX >= 0x030C0000
    PyUnstable_Type_AssignVersionTag(tp);
#else
    (void)copium_type_lookup(tp, P->names.reduce_ex); /* assigns a tag */
#endif
    unsigned int version = copium_type_version(tp);
    int called = 0;
    PyObject *ddisp = P->stdlib.deepcopy_dispatch;
    PyObject *table = P->stdlib.dispatch_table;
#if PY_VERSION_HEX >= 0x030E0000
    /* 3.14 has no copy._copy_dispatch: its sets of types decide first instead. */
    PyObject *deep_set = P->stdlib.atomic_types, *copy_set = P->stdlib.copy_atomic_types,
             *containers = P->stdlib.copy_builtin_containers;
    if (deep_set == NULL || copy_set == NULL || containers == NULL)
        goto done;
#else
    PyObject *cdisp = P->stdlib.copy_dispatch;
    if (cdisp == NULL || !PyDict_CheckExact(cdisp))
        goto done;
#endif
    if (ddisp == NULL || table == NULL || !PyDict_CheckExact(ddisp) || !PyDict_CheckExact(table))
        goto done;
    if (Py_TYPE(tp)->tp_getattro != PyType_Type.tp_getattro)
        goto done;
    PyObject *key = (PyObject *)tp;
#if PY_VERSION_HEX >= 0x030E0000
    int in_deep = PyDict_Contains(ddisp, key), in_table = PyDict_Contains(table, key);
    int in_atoms = PySequence_Contains(deep_set, key);
    int in_copy = PySequence_Contains(copy_set, key);
    int in_containers = PySequence_Contains(containers, key);
    if (in_atoms < 0 || in_containers < 0) {
        PyErr_Clear();
        goto done;
    }
    in_deep = in_deep || in_atoms; /* either way stdlib does not reach the reduce protocol */
    in_copy = in_copy || in_containers;
#else
    int in_deep = PyDict_Contains(ddisp, key), in_copy = PyDict_Contains(cdisp, key),
        in_table = PyDict_Contains(table, key);
#endif
    if (in_deep < 0 || in_copy < 0 || in_table < 0) {
        PyErr_Clear();
        goto done;
    }
    int no_deepcopy = copium_type_lookup(tp, P->names.deepcopy) == NULL;
    /* Skipping the table lookups per object is exact only when they run no code: under a
     * metaclass that is exactly type (its hash and equality are type's own). */
    info->deep_reduce = Py_TYPE(tp) == &PyType_Type && !in_deep && !in_table && no_deepcopy &&
                        tp->tp_getattro == PyObject_GenericGetAttr &&
                        !PyType_IsSubtype(tp, &PyType_Type);
    info->dict_checks = tp->tp_dictoffset != 0;
    if (info->deep_reduce) {
        /* object.__reduce_ex__: `getattr(type(self), '__reduce__') is not object.__reduce__`
         * (under metaclass type a function is itself there), then `self.__reduce__()`. */
        PyObject *reduce = copium_type_lookup(tp, P->names.reduce);
        if (copium_type_lookup(tp, P->names.reduce_ex) == P->stdlib.object_reduce_ex &&
            reduce != NULL && PyFunction_Check(reduce))
            info->reduce_func = reduce;
    }
    /* From here on, the object path's own conditions. */
    if (tp->tp_new != PyBaseObject_Type.tp_new || tp->tp_itemsize != 0 ||
        tp->tp_getattro != PyObject_GenericGetAttr)
        goto done;
    if (PyType_IsSubtype(tp, &PyList_Type) || PyType_IsSubtype(tp, &PyDict_Type) ||
        PyType_IsSubtype(tp, &PyType_Type))
        goto done;
    if (P->stdlib.newobj == NULL || P->stdlib.newobj != P->stdlib.orig_newobj)
        goto done;
    if (copium_type_lookup(tp, P->names.reduce_ex) != P->stdlib.object_reduce_ex ||
        copium_type_lookup(tp, P->names.reduce) != P->stdlib.object_reduce ||
        copium_type_lookup(tp, P->names.getstate) != P->stdlib.object_getstate ||
        copium_type_lookup(tp, P->names.setstate) != NULL ||
        copium_type_lookup(tp, P->names.getnewargs_ex) != NULL ||
        copium_type_lookup(tp, P->names.getnewargs) != NULL ||
        copium_type_lookup(tp, P->names.new_) != P->stdlib.object_new ||
        meta_data_descriptor(tp, P->names.reduce) || meta_data_descriptor(tp, P->names.new_))
        goto done;
    if (tp->tp_dictoffset != 0) {
        /* y.__dict__ in _reconstruct must be the instance dict itself. */
        PyObject *descr = copium_type_lookup(tp, P->names.dict);
        if (descr == NULL || !Py_IS_TYPE(descr, &PyGetSetDescr_Type))
            goto done;
        info->has_dict = 1;
    }
    /* object_getstate_default refuses an object with more C-level fields than its dict,
     * weakref list and slots explain; counted conservatively (a managed dict or weakref list
     * is outside the object), a failing type just takes the reduce path, which raises. */
    info->allowance = PyBaseObject_Type.tp_basicsize;
    if (tp->tp_dictoffset > 0)
        info->allowance += sizeof(PyObject *);
    if (tp->tp_weaklistoffset > 0)
        info->allowance += sizeof(PyObject *);
    info->deep_ok = !in_deep && !in_table && no_deepcopy;
    info->copy_ok = !in_copy && !in_table && copium_type_lookup(tp, P->names.copy) == NULL &&
                    copium_type_lookup(Py_TYPE(tp), P->names.copy) == NULL;
    if (deep ? info->deep_ok : info->copy_ok) {
        /* Last: storing cls.__slotnames__ is a change to the type (a new version tag). */
        PyObject *names = slot_names(P, tp, &called);
        if (names == NULL) {
            PyErr_Clear(); /* the reduce path raises it again */
            info->deep_ok = info->copy_ok = 0;
            return;
        }
        if (names != Py_None) {
            info->slotnames = names;
            resolve_slots(tp, info);
        } else {
            Py_DECREF(names);
        }
        info->names_known = 1;
    }
done:
    /* A refusal is cached too: types with their own protocol are met again and again. Not when
     * copyreg._slotnames ran (it stores cls.__slotnames__, a change to the type, and runs
     * Python code): the next object finds the names in the class and caches. A static type
     * cannot be changed (and copyreg cannot store the names in it). */
    if (called && PyType_HasFeature(tp, Py_TPFLAGS_HEAPTYPE))
        return;
    if (copium_type_version(tp) == version)
        info->version = version;
}

static type_info *cache_entry(copium_protocol *P, PyTypeObject *tp)
{
    uintptr_t p = (uintptr_t)tp;
    return &P->object_cache->entries[((p >> 4) ^ (p >> 12)) & (TYPE_CACHE_SIZE - 1)];
}

/* Before a step of the native path that may run Python code: quiet is the context of a
 * handler dispatched as quiet (generic.c), which settles then; NULL where nothing needs to
 * (a shallow copy, a loud handler, the plan). 0, or -1 with an exception. */
static int settle(copium_ctx *quiet)
{
    return quiet != NULL ? copium_before_python_code(quiet) : 0;
}

/* The facts for tp: from the cache, or computed into *tmp (then cached when the type has a
 * version tag). The caller releases tmp->slotnames. quiet: the context of a handler
 * dispatched as quiet (generic.c), which computing settles first (it may call
 * copyreg._slotnames); NULL elsewhere. NULL with an exception when settling fails. */
static const type_info *get_info(copium_protocol *P, PyTypeObject *tp, int deep, type_info *tmp,
                                 copium_ctx *quiet)
{
    type_info *e = cache_entry(P, tp);
    if (e->type == tp && e->version != 0 && e->version == copium_type_version(tp) &&
        e->epoch == P->stdlib.epoch && (e->names_known || !(deep ? e->deep_ok : e->copy_ok)))
        return e;
    if (settle(quiet) < 0)
        return NULL;
    compute(P, tp, deep, tmp);
    if (tmp->version == 0 || !copium_stdlib_fresh(P))
        return tmp;
    type_info old = *e;
    *e = *tmp;
    tmp->slotnames = tmp->slot_snapshot = NULL;
    tmp->offsets = NULL;
    info_release(&old);
    return e;
}

typedef struct {
    PyObject *name, *value;
    Py_ssize_t offset; /* the field setattr writes, or 0: call setattr */
} slot_value;

#define SLOTS_ON_STACK 8

typedef struct {
    slot_value *items;
    Py_ssize_t count;
    slot_value stack[SLOTS_ON_STACK];
} slot_values;

static void slot_values_clear(slot_values *sv)
{
    for (Py_ssize_t i = 0; i < sv->count; i++) {
        Py_DECREF(sv->items[i].name);
        Py_DECREF(sv->items[i].value);
    }
    if (sv->items != sv->stack)
        PyMem_Free(sv->items);
    sv->items = sv->stack;
    sv->count = 0;
}

/* The slot half of object_getstate_default: for each name, getattr(x, name) when present, in
 * a dict keyed by name (a repeated name keeps its first position and its last value).
 * 1 done, 0 a name that is not an exact str (left to the reduce path), -1 error. */
static int add_slot_value(slot_values *sv, PyObject *name, PyObject *value, Py_ssize_t offset)
{
    Py_ssize_t j = 0;
    while (j < sv->count && PyUnicode_Compare(sv->items[j].name, name) != 0)
        j++;
    if (j < sv->count) {
        Py_SETREF(sv->items[j].value, value);
        Py_DECREF(name);
    } else {
        sv->items[j].name = name;
        sv->items[j].value = value;
        sv->items[j].offset = offset;
        sv->count++;
    }
    return 0;
}

static int collect_slots(PyObject *x, PyObject *names, PyObject *snapshot,
                         const Py_ssize_t *offsets, int direct_set, slot_values *sv,
                         copium_ctx *quiet)
{
    Py_ssize_t n = PyList_GET_SIZE(names);
    sv->items = sv->stack;
    sv->count = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!PyUnicode_CheckExact(PyList_GET_ITEM(names, i)))
            return 0;
    }
    /* The resolved fields stand for getattr only while the list still names them. */
    int direct = offsets != NULL && PyTuple_GET_SIZE(snapshot) == n;
    for (Py_ssize_t i = 0; direct && i < n; i++)
        direct = PyList_GET_ITEM(names, i) == PyTuple_GET_ITEM(snapshot, i);
    if (n > SLOTS_ON_STACK) {
        sv->items = PyMem_Malloc(n * sizeof(slot_value));
        if (sv->items == NULL) {
            sv->items = sv->stack;
            PyErr_NoMemory();
            return -1;
        }
    }
    if (direct) {
        /* getattr(x, name) reads the field (unset: AttributeError, skipped); no code runs. */
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *value = *(PyObject **)((char *)x + offsets[i]);
            if (value != NULL)
                add_slot_value(sv, Py_NewRef(PyList_GET_ITEM(names, i)), Py_NewRef(value),
                               direct_set ? offsets[i] : 0);
        }
        return 1;
    }
    if (settle(quiet) < 0) /* getattr may run code */
        return -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *name = Py_NewRef(PyList_GET_ITEM(names, i)), *value;
        int rc = copium_get_optional_attr(x, name, &value);
        if (rc < 0) {
            Py_DECREF(name);
            return -1;
        }
        if (rc > 0)
            add_slot_value(sv, name, value, 0);
        else
            Py_DECREF(name);
        if (PyList_GET_SIZE(names) != n) {
            PyErr_SetString(PyExc_RuntimeError, "__slotsname__ changed size during iteration");
            return -1;
        }
    }
    return 1;
}

/* 1 when looking a str up in dict runs no Python code: its keys are all exact str (a split
 * table admits no other key, nor does a table CPython keeps for str keys; else each key is
 * looked at). */
static int str_keys_only(PyObject *dict)
{
    if (((PyDictObject *)dict)->ma_values != NULL)
        return 1;
    copium_dict_entries e;
    if (copium_dict_entries_of(dict, &e) && e.str_keys)
        return 1;
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(dict, &pos, &key, &value)) {
        if (!PyUnicode_CheckExact(key))
            return 0;
    }
    return 1;
}

/* Is one of names[0..n) in the instance dict (where getattr would find it first)? */
static int instance_overrides(PyObject *dict, PyObject *const *names, int n)
{
    for (int i = 0; i < n; i++) {
        int rc = PyDict_Contains(dict, names[i]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Everything both directions read from x before building y. Returns 1 when x takes the
 * native path (state gathered), 0 when it does not, -1 on error. */
typedef struct {
    PyObject *dict;       /* x.__dict__ when not empty, else NULL */
    unsigned int version; /* the type's version tag the slot offsets were resolved under */
    int into_values;      /* copy x.__dict__ into y's values (see copy_dict_into) */
    int deep_reduce;      /* the type's deep_reduce fact (see type_info) */
    int dict_checks;
    PyObject *reduce_func; /* borrowed */
    slot_values slots;
} object_state;

/* Whether a copy of xdict stored in y's values, so that y's dict shares the class's keys as
 * xdict does, is no larger (by sys.getsizeof, which reports the shared table's capacity) than
 * the dict stdlib's update gives y: a combined table of n keys. The split size is measured
 * once per cached type. */
static int values_no_larger(copium_protocol *P, PyTypeObject *tp, unsigned int version,
                            PyObject *xdict)
{
    if (!PyDict_CheckExact(xdict) || ((PyDictObject *)xdict)->ma_values == NULL)
        return 0;
    Py_ssize_t combined = copium_dict_inserted_sizeof(&P->handlers, PyDict_GET_SIZE(xdict), 1);
    if (combined < 0)
        return 0;
    type_info *e = cache_entry(P, tp);
    int cached = version != 0 && e->type == tp && e->version == version;
    Py_ssize_t split = cached ? e->split_sizeof : 0;
    if (split == 0) {
        split = copium_dict_sizeof(xdict);
        if (split < 0) {
            PyErr_Clear();
            return 0;
        }
        /* The call allocated (a finaliser may have run and replaced the entry): check again. */
        if (cached && e->type == tp && e->version == version)
            e->split_sizeof = split;
    }
    return split <= combined;
}

/* quiet: as for get_info (each step that may run Python code settles first). */
static int gather(copium_protocol *P, PyObject *x, int deep, object_state *st, copium_ctx *quiet)
{
    PyTypeObject *tp = Py_TYPE(x);
    type_info tmp = {0};
    PyObject *names = NULL, *snapshot = NULL;
    Py_ssize_t offsets_stack[SLOTS_ON_STACK], *offsets = NULL;
    int rc = 0;
    st->dict = NULL;
    st->into_values = 0;
    st->slots.items = st->slots.stack;
    st->slots.count = 0;
    const type_info *info = get_info(P, tp, deep, &tmp, quiet);
    if (info == NULL) {
        rc = -1;
        goto done;
    }
    st->version = info->version;
    st->deep_reduce = info->deep_reduce;
    st->dict_checks = info->dict_checks;
    st->reduce_func = info->version != 0 ? info->reduce_func : NULL;
    if (!(deep ? info->deep_ok : info->copy_ok))
        goto done;
    /* info may be replaced by code run below (any allocation may run a finaliser): copy out
     * what is used after that. */
    int has_dict = info->has_dict, direct_set = info->direct_set;
    Py_ssize_t allowance = info->allowance;
    names = Py_XNewRef(info->slotnames);
    if (info->offsets != NULL) {
        snapshot = Py_NewRef(info->slot_snapshot);
        Py_ssize_t n = PyTuple_GET_SIZE(snapshot);
        offsets = n <= SLOTS_ON_STACK ? offsets_stack : PyMem_Malloc(n * sizeof(Py_ssize_t));
        if (offsets == NULL) {
            PyErr_NoMemory();
            rc = -1;
            goto done;
        }
        memcpy(offsets, info->offsets, n * sizeof(Py_ssize_t));
    }
    Py_ssize_t nslots = names ? PyList_GET_SIZE(names) : 0;
    if (tp->tp_basicsize > allowance + nslots * (Py_ssize_t)sizeof(PyObject *))
        goto done;
    if (has_dict) {
        PyObject *dict = PyObject_GenericGetDict(x, NULL);
        if (dict == NULL) {
            rc = -1;
            goto done;
        }
        if (PyDict_GET_SIZE(dict) == 0) {
            Py_DECREF(dict);
        } else {
            PyObject *const checks[] = {P->names.reduce_ex, P->names.getstate, P->names.deepcopy};
            /* A key of another type may compare equal to a name by Python code. */
            if (quiet != NULL && !str_keys_only(dict) && settle(quiet) < 0) {
                Py_DECREF(dict);
                rc = -1;
                goto done;
            }
            rc = instance_overrides(dict, checks, deep ? 3 : 2);
            if (rc != 0) {
                Py_DECREF(dict);
                rc = rc < 0 ? -1 : 0;
                goto done;
            }
            st->dict = dict;
            st->into_values = deep && values_no_larger(P, tp, st->version, dict);
        }
    }
    rc = 1;
    if (nslots > 0) {
        /* The resolved fields hold only while the type is unchanged (code may have run). */
        int same = st->version != 0 && copium_type_version(tp) == st->version;
        rc =
            collect_slots(x, names, snapshot, same ? offsets : NULL, direct_set, &st->slots, quiet);
    }
    if (rc <= 0) {
        slot_values_clear(&st->slots);
        Py_CLEAR(st->dict);
    }
done:
    if (offsets != offsets_stack)
        PyMem_Free(offsets);
    Py_XDECREF(names);
    Py_XDECREF(snapshot);
    info_release(&tmp);
    return rc;
}

static void state_clear(object_state *st)
{
    Py_CLEAR(st->dict);
    slot_values_clear(&st->slots);
}

/* object.__new__(cls) as copyreg.__newobj__ calls it (tp_new is object's own: checked). */
static PyObject *new_instance(copium_protocol *P, PyTypeObject *tp)
{
    return PyBaseObject_Type.tp_new(tp, P->stdlib.empty_tuple, NULL);
}

/* x only names the culprit of a failure. quiet: as for get_info. */
static int set_slots(PyObject *x, PyObject *y, const object_state *st, copium_ctx *ctx,
                     copium_ctx *quiet)
{
    const slot_values *sv = &st->slots;
    for (Py_ssize_t i = 0; i < sv->count; i++) {
        PyObject *value = sv->items[i].value;
        value = ctx ? copium_deepcopy_child(ctx, value) : Py_NewRef(value);
        if (value == NULL)
            return -1;
        Py_ssize_t offset = sv->items[i].offset;
        /* Copying children ran code: the field still is what setattr writes only if y's type
         * is the same, unchanged (same version tag: same __setattr__ and descriptors). */
        if (offset > 0 && st->version != 0 && copium_type_version(Py_TYPE(y)) == st->version) {
            /* What the member descriptor's setter does (y's type is x's: same layout). */
            PyObject **field = (PyObject **)((char *)y + offset);
            Py_XSETREF(*field, value);
            continue;
        }
        if (settle(quiet) < 0) { /* setattr may run code */
            Py_DECREF(value);
            return -1;
        }
        int rc = PyObject_SetAttr(y, sv->items[i].name, value);
        Py_DECREF(value);
        if (rc < 0) {
            copium_culprit(COPIUM_PART_SLOTSTATE, x, ctx != NULL, y, NULL, NULL);
            return -1;
        }
    }
    return 0;
}

/* The state stdlib would build (exact mode): None, the dict, or (dict or None, slots). */
static PyObject *build_state(const object_state *st)
{
    PyObject *dict = st->dict ? st->dict : Py_None;
    if (st->slots.count == 0)
        return Py_NewRef(dict);
    PyObject *slots = PyDict_New();
    if (slots == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < st->slots.count; i++) {
        if (PyDict_SetItem(slots, st->slots.items[i].name, st->slots.items[i].value) < 0) {
            Py_DECREF(slots);
            return NULL;
        }
    }
    PyObject *state = PyTuple_Pack(2, dict, slots);
    Py_DECREF(slots);
    return state;
}

/* y.__dict__[key] = value, as dict.update writes it. Through generic setattr when that is the
 * same thing (y's type keeps generic setattr and has no data descriptor named key): it stores
 * into the instance's values (3.11+) without creating a dict object, which CPython creates on
 * first use of y.__dict__, with the same keys, values and order. Checked at every store: the
 * copies made before it may have run code that changed the type. *ydict is y's dict once it
 * had to be fetched. */
static int store_attr(PyObject *y, PyObject **ydict, PyObject *key, PyObject *value)
{
    PyTypeObject *tp = Py_TYPE(y);
    if (*ydict == NULL && PyUnicode_CheckExact(key) && tp->tp_setattro == PyObject_GenericSetAttr) {
        PyObject *descr = copium_type_lookup(tp, key);
        if (descr == NULL || Py_TYPE(descr)->tp_descr_set == NULL)
            return PyObject_GenericSetAttr(y, key, value);
    }
    if (*ydict == NULL && (*ydict = PyObject_GenericGetDict(y, NULL)) == NULL)
        return -1;
    return PyDict_SetItem(*ydict, key, value);
}

/* Deep-copy x.__dict__'s items into y's dict, as _deepcopy_dict would into D' (value before
 * key, a dict iterator's checks), or take D' from the memo when x.__dict__ was copied before.
 * into_values (x.__dict__ shares the class's keys, and such a dict is no larger than stdlib's
 * result): the copies go straight into y's values, so y's dict shares the keys too. Otherwise
 * D' is built and merged as stdlib does, so that y's dict has stdlib's exact size. quiet (as
 * for get_info): storing an exact str key runs no code, any other key is hashed first. */
static int copy_dict_into(copium_ctx *ctx, PyObject *y, PyObject *xdict, int into_values,
                          copium_ctx *quiet)
{
    copium_protocol *P = copium_proto(ctx);
    PyObject *ydict = NULL, *state = NULL, *found, *key, *value;
    int rc = copium_memo_find(ctx, xdict, copium_hash_ptr(xdict), &found);
    if (rc != 0) {
        if (rc > 0) {
            /* y.__dict__.update(D'): getattr and update may run code */
            rc = settle(quiet);
            if (rc == 0)
                rc = copium_update_dict(P, y, found);
            Py_DECREF(found);
        }
        return rc;
    }
    if (!into_values) {
        state = PyDict_New();
        if (state == NULL)
            return -1;
    }
    copium_dictiter it;
    copium_dictiter_init(&it, xdict);
    while ((rc = copium_dictiter_next(&it, &key, &value)) > 0) {
        Py_INCREF(key);
        Py_INCREF(value);
        PyObject *value_copy = copium_deepcopy_child(ctx, value);
        PyObject *key_copy = value_copy ? copium_deepcopy_child(ctx, key) : NULL;
        if (key_copy == NULL)
            rc = -1;
        else if (!PyUnicode_CheckExact(key_copy) && settle(quiet) < 0)
            rc = -1;
        else if (state != NULL)
            rc = PyDict_SetItem(state, key_copy, value_copy);
        else
            rc = store_attr(y, &ydict, key_copy, value_copy);
        Py_DECREF(key);
        Py_DECREF(value);
        Py_XDECREF(key_copy);
        Py_XDECREF(value_copy);
        if (rc < 0)
            break;
    }
    if (rc == 0 && state != NULL)
        rc = settle(quiet); /* getattr and update may run code */
    if (rc == 0 && state != NULL)
        rc = copium_update_dict(P, y, state);
    Py_XDECREF(state);
    Py_XDECREF(ydict);
    return rc;
}

/* The route's facts for x, from the type's (st) and x's instance dict, where getattr looks
 * first: a __deepcopy__ there ends deep_reduce, a __reduce_ex__ or __reduce__ the direct call.
 * (The dict is made if the instance keeps its attributes without one, as the object path
 * does.) */
static void reduce_route(copium_protocol *P, PyObject *x, const object_state *st,
                         copium_reduce_route *route)
{
    route->deep_reduce = st->deep_reduce;
    route->reduce_func = NULL;
    if (!st->deep_reduce)
        return;
    PyObject *reduce_func = st->reduce_func;
    if (st->dict_checks) {
        PyObject *dict = PyObject_GenericGetDict(x, NULL);
        if (dict == NULL) {
            PyErr_Clear();
            route->deep_reduce = 0; /* the lookup order finds the error again */
            return;
        }
        int rc = PyDict_GET_SIZE(dict) == 0 ? 0 : PyDict_Contains(dict, P->names.deepcopy);
        if (rc == 0 && reduce_func != NULL && PyDict_GET_SIZE(dict) != 0) {
            PyObject *const names[] = {P->names.reduce_ex, P->names.reduce};
            int over = instance_overrides(dict, names, 2);
            if (over != 0)
                reduce_func = NULL;
            if (over < 0)
                rc = -1;
        }
        Py_DECREF(dict);
        if (rc != 0) {
            PyErr_Clear();
            route->deep_reduce = 0;
            return;
        }
    }
    route->reduce_func = Py_XNewRef(reduce_func);
}

int copium_object_deepcopy(copium_ctx *ctx, PyObject *x, copium_hash_t hash, PyObject **result,
                           copium_reduce_route *route, int quiet)
{
    copium_protocol *P = copium_proto(ctx);
    object_state st;
    copium_ctx *quiet_ctx = quiet ? ctx : NULL;
    int rc = gather(P, x, 1, &st, quiet_ctx);
    if (rc <= 0) {
        *result = NULL;
        route->deep_reduce = 0;
        route->reduce_func = NULL;
        if (rc == 0)
            reduce_route(P, x, &st, route);
        return rc < 0; /* an error is handled (NULL result), a refusal is not */
    }
    route->deep_reduce = 0;
    route->reduce_func = NULL;
    PyTypeObject *tp = Py_TYPE(x);
    PyObject *y = NULL;
    if (copium_ctx_python_memo(ctx) != NULL) {
        /* The memo is observable: make exactly stdlib's memo entries. */
        PyObject *state = build_state(&st), *args = NULL;
        if (state == NULL)
            goto error;
        args = PyTuple_Pack(1, (PyObject *)tp);
        if (args != NULL)
            y = copium_reconstruct_parts(ctx, x, hash, P->stdlib.newobj, args, state, NULL, NULL);
        Py_DECREF(state);
        Py_XDECREF(args);
        if (y == NULL || copium_memo_store(ctx, x, hash, y) < 0)
            goto error;
    } else {
        y = new_instance(P, tp);
        if (y == NULL || copium_memo_remember(ctx, x, hash, y) < 0)
            goto error;
        if (st.dict != NULL && copy_dict_into(ctx, y, st.dict, st.into_values, quiet_ctx) < 0)
            goto error;
        if (set_slots(x, y, &st, ctx, quiet_ctx) < 0)
            goto error;
        if (copium_memo_complete(ctx, x, hash, y) < 0)
            goto error;
    }
    state_clear(&st);
    *result = y;
    return 1;
error:
    state_clear(&st);
    Py_XDECREF(y);
    *result = NULL;
    return 1;
}

int copium_object_copy(copium_protocol *P, PyObject *x, PyObject **result)
{
    object_state st;
    int rc = gather(P, x, 0, &st, NULL);
    *result = NULL;
    if (rc <= 0)
        return rc < 0;
    PyObject *y = new_instance(P, Py_TYPE(x));
    if (y == NULL)
        goto error;
    if (st.dict != NULL) {
        /* `y.__dict__.update(x.__dict__)` */
        PyObject *ydict = PyObject_GenericGetDict(y, NULL);
        if (ydict == NULL)
            goto error;
        int urc = PyDict_Update(ydict, st.dict);
        Py_DECREF(ydict);
        if (urc < 0)
            goto error;
    }
    if (set_slots(x, y, &st, NULL, NULL) < 0)
        goto error;
    state_clear(&st);
    *result = y;
    return 1;
error:
    state_clear(&st);
    Py_XDECREF(y);
    return 1;
}

/* For copium.explain only (never on a copy's path): why the native object path does not copy
 * x, the first reason in the order a reader would fix them. The same conditions as compute()
 * and gather(), read again; stable names the report turns into prose. Reading x.__dict__ makes
 * the dict of an instance that kept its attributes without one (as reduce_route does), and
 * the slot names are fetched as stdlib's object.__reduce_ex__ fetches them next. */
const char *copium_object_declined(copium_protocol *P, PyObject *x)
{
    PyTypeObject *tp = Py_TYPE(x);
    if (PyType_IsSubtype(tp, &PyType_Type))
        return "class";
    if (copium_type_lookup(tp, P->names.reduce_ex) != P->stdlib.object_reduce_ex)
        return "reduce-ex";
    if (copium_type_lookup(tp, P->names.reduce) != P->stdlib.object_reduce)
        return "reduce";
    if (PyType_IsSubtype(tp, &PyList_Type) || PyType_IsSubtype(tp, &PyDict_Type))
        return "list-dict";
    if (tp->tp_itemsize != 0)
        return "builtin-base";
    if (tp->tp_new != PyBaseObject_Type.tp_new) {
        /* A __new__ written in Python is a staticmethod in its class's dict; a builtin base's
         * is a builtin function. */
        PyObject *new_ = copium_type_lookup(tp, P->names.new_);
        return new_ != NULL && !PyCFunction_Check(new_) ? "new" : "builtin-base";
    }
    if (copium_type_lookup(tp, P->names.getstate) != P->stdlib.object_getstate)
        return "getstate";
    if (copium_type_lookup(tp, P->names.setstate) != NULL)
        return "setstate";
    if (copium_type_lookup(tp, P->names.getnewargs_ex) != NULL)
        return "getnewargs-ex";
    if (copium_type_lookup(tp, P->names.getnewargs) != NULL)
        return "getnewargs";
    if (copium_type_lookup(tp, P->names.new_) != P->stdlib.object_new)
        return "new";
    if (tp->tp_getattro != PyObject_GenericGetAttr)
        return "getattr";
    if (Py_TYPE(tp)->tp_getattro != PyType_Type.tp_getattro ||
        meta_data_descriptor(tp, P->names.reduce) || meta_data_descriptor(tp, P->names.new_))
        return "metaclass";
    if (P->stdlib.newobj == NULL || P->stdlib.newobj != P->stdlib.orig_newobj)
        return "newobj";
#if PY_VERSION_HEX < 0x030E0000
    if (P->stdlib.copy_dispatch == NULL || !PyDict_CheckExact(P->stdlib.copy_dispatch))
        return "tables";
#endif
    if (P->stdlib.deepcopy_dispatch == NULL || P->stdlib.dispatch_table == NULL ||
        !PyDict_CheckExact(P->stdlib.deepcopy_dispatch) ||
        !PyDict_CheckExact(P->stdlib.dispatch_table))
        return "tables";
    if (tp->tp_dictoffset != 0) {
        PyObject *descr = copium_type_lookup(tp, P->names.dict);
        if (descr == NULL || !Py_IS_TYPE(descr, &PyGetSetDescr_Type))
            return "dict-descriptor";
    }
    int called = 0;
    PyObject *names = slot_names(P, tp, &called);
    if (names == NULL) {
        PyErr_Clear();
        return "slot-names";
    }
    Py_ssize_t nslots = names != Py_None ? PyList_GET_SIZE(names) : 0;
    int str_names = 1;
    for (Py_ssize_t i = 0; i < nslots; i++)
        str_names &= PyUnicode_CheckExact(PyList_GET_ITEM(names, i));
    Py_DECREF(names);
    Py_ssize_t allowance = PyBaseObject_Type.tp_basicsize;
    if (tp->tp_dictoffset > 0)
        allowance += sizeof(PyObject *);
    if (tp->tp_weaklistoffset > 0)
        allowance += sizeof(PyObject *);
    if (tp->tp_basicsize > allowance + nslots * (Py_ssize_t)sizeof(PyObject *))
        return "c-fields";
    if (tp->tp_dictoffset != 0) {
        PyObject *dict = PyObject_GenericGetDict(x, NULL);
        if (dict == NULL) {
            PyErr_Clear();
            return "instance-dict";
        }
        PyObject *const checks[] = {P->names.reduce_ex, P->names.getstate, P->names.deepcopy};
        int rc = PyDict_GET_SIZE(dict) != 0 ? instance_overrides(dict, checks, 3) : 0;
        Py_DECREF(dict);
        if (rc != 0) {
            PyErr_Clear();
            return "instance-dict";
        }
    }
    if (!str_names)
        return "slot-names";
    return "unknown";
}

/* ---- for the plan (batch/plan.c) --------------------------------------------------------- */

int copium_object_layout_of(copium_protocol *P, PyObject *x, copium_object_layout *layout)
{
    object_state st;
    memset(layout, 0, sizeof(*layout));
    int rc = gather(P, x, 1, &st, NULL);
    if (rc <= 0)
        return rc;
    if (st.slots.count > 0) {
        layout->slots = PyMem_New(copium_object_slot, (size_t)st.slots.count);
        if (layout->slots == NULL) {
            state_clear(&st);
            PyErr_NoMemory();
            return -1;
        }
        for (Py_ssize_t i = 0; i < st.slots.count; i++) {
            layout->slots[i].name = st.slots.items[i].name; /* the references move */
            layout->slots[i].value = st.slots.items[i].value;
            layout->slots[i].offset = st.slots.items[i].offset;
        }
        layout->nslots = st.slots.count;
        st.slots.count = 0;
    }
    layout->dict = st.dict;
    st.dict = NULL;
    layout->into_values = st.into_values;
    layout->version = st.version;
    state_clear(&st);
    return 1;
}

void copium_object_layout_clear(copium_object_layout *layout)
{
    for (Py_ssize_t i = 0; i < layout->nslots; i++) {
        Py_DECREF(layout->slots[i].name);
        Py_DECREF(layout->slots[i].value);
    }
    PyMem_Free(layout->slots);
    Py_CLEAR(layout->dict);
    layout->slots = NULL;
    layout->nslots = 0;
}
