/* The handler for pydantic v2 models: what pydantic's own BaseModel.__deepcopy__ / __copy__ (and
 * RootModel's) do, natively, for every class that keeps them. copium never imports pydantic: a
 * type is recognised when its MRO holds the class `BaseModel` of the already imported module
 * pydantic.main, and served only while all of this holds (checked when the type is first met,
 * trusted while its version tag and copium's stdlib epoch hold): pydantic.version.VERSION is one
 * of the versions whose methods were read (VERSIONS below), the class's __deepcopy__ (__copy__)
 * is the very function BaseModel (RootModel) defines, its __dict__ and the three slots are
 * BaseModel's own descriptors, instances use object's __getattribute__ and the class object's
 * __new__, the metaclass type's __getattribute__. Per object: the method's module globals it
 * reads (deepcopy and copy still copy's functions, _object_setattr object.__setattr__), no
 * __deepcopy__ in the instance dict, every slot set, a private dict of str keys. Anything else
 * runs pydantic's Python method through stdlib's lookup order (copium_deepcopy_default).
 *
 * The deep copy, as pydantic 2.12-2.14 writes it (pydantic/main.py, BaseModel.__deepcopy__):
 *   m = cls.__new__(cls); [2.14.2+: memo[id(self)] = m]
 *   m.__dict__ = deepcopy(self.__dict__, memo)
 *   m.__pydantic_extra__ = deepcopy(self.__pydantic_extra__, memo)
 *   m.__pydantic_fields_set__ = copy(self.__pydantic_fields_set__)
 *   m.__pydantic_private__ = None, or deepcopy({k: v for k, v in private.items()
 *                                              if v is not PydanticUndefined}, memo)
 * (each assignment object.__setattr__), and stdlib's deepcopy then records memo[id(self)] = m
 * and keeps self alive. The children go through the engine, so the memo gets exactly the
 * entries stdlib's deepcopy makes through pydantic's method (the temporary private dict
 * included, kept alive as stdlib's keepalive list keeps it). RootModel's method does the
 * first two steps and the fields-set copy only. The shallow copy (__copy__) is the same with
 * copy() in place of deepcopy() (RootModel from 2.13 also copies the root value). */
#include "pydantic.h"

#include "../core/compat.h"
#include "../core/engine.h"
#include "../core/registry.h"
#include "stdlib.h"

#include <string.h>
#if PY_VERSION_HEX < 0x030C0000
#include <structmember.h>
#define Py_T_OBJECT_EX T_OBJECT_EX
#define Py_READONLY    READONLY
#endif

/* The versions whose BaseModel and RootModel methods were read, and what differs among them. */
typedef struct {
    const char *version;
    unsigned char memo_first; /* __deepcopy__ stores memo[id(self)] = m before the copies */
    unsigned char root_copy;  /* RootModel.__copy__ copies the root value too */
} known_version;

static const known_version VERSIONS[] = {
    {"2.12.0", 0, 0}, {"2.12.2", 0, 0}, {"2.12.3", 0, 0}, {"2.12.4", 0, 0},
    {"2.12.5", 0, 0}, {"2.13.0", 0, 1}, {"2.13.1", 0, 1}, {"2.13.2", 0, 1},
    {"2.13.3", 0, 1}, {"2.13.4", 0, 1}, {"2.13.5", 0, 1}, {"2.14.0", 0, 1},
    {"2.14.1", 0, 1}, {"2.14.2", 1, 1}, {"2.14.3", 1, 1}, {"2.14.4", 1, 1},
};

enum { KIND_NONE = 0, KIND_MODEL, KIND_ROOT };

/* What was found for one type, valid while its version tag and the stdlib epoch hold. The
 * pointers are borrowed: the type is alive while one of its instances is copied, and the
 * functions and descriptors belong to its bases' dicts, whose change changes its tag. */
typedef struct {
    PyTypeObject *type;
    unsigned int version;
    uint64_t epoch;
    unsigned char kind, deep_ok, copy_ok, memo_first, root_copy;
    PyObject *method_globals; /* pydantic.main's (root_model's) module dict */
    PyObject *deepcopy_func;  /* copy.deepcopy and copy.copy when checked (the copy module is */
    PyObject *copy_func;      /* watched: a rebinding changes the epoch) */
    PyObject *object_setattr; /* object.__setattr__ (object's dict holds it) */
    Py_ssize_t extra_offset, fields_set_offset, private_offset;
} model_facts;

#define FACTS_CACHE_SIZE 64
/* Per interpreter (the protocol state's pydantic_cache). */
struct copium_pydantic_cache {
    model_facts entries[FACTS_CACHE_SIZE];
};

static model_facts *facts_entry(copium_protocol *P, PyTypeObject *tp)
{
    uintptr_t p = (uintptr_t)tp;
    return &P->pydantic_cache->entries[((p >> 4) ^ (p >> 10)) & (FACTS_CACHE_SIZE - 1)];
}

/* tp's version tag, assigned if it had none (0 when none can be). */
static unsigned int assigned_version(copium_protocol *P, PyTypeObject *tp)
{
#if PY_VERSION_HEX >= 0x030C0000
    (void)P;
    PyUnstable_Type_AssignVersionTag(tp);
#else
    (void)copium_type_lookup(tp, P->names.deepcopy); /* assigns a tag */
#endif
    return copium_type_version(tp);
}

/* Borrowed d[key] for an exact dict, NULL when absent (errors cleared). */
static PyObject *peek(PyObject *d, PyObject *key)
{
    if (d == NULL || !PyDict_CheckExact(d))
        return NULL;
    PyObject *v = PyDict_GetItemWithError(d, key);
    if (v == NULL)
        PyErr_Clear();
    return v;
}

/* Borrowed sys.modules[name].__dict__ (NULL when not imported). The check of a type allocates
 * nothing (interned names, no UTF-8 conversion): a failed allocation would otherwise read as
 * "not a pydantic model", a verdict cached for as long as the type's version tag holds. */
static PyObject *module_dict(PyObject *name)
{
    PyObject *mod = PyImport_GetModule(name);
    if (mod == NULL) {
        PyErr_Clear();
        return NULL;
    }
    PyObject *dict = PyModule_Check(mod) ? PyModule_GetDict(mod) : NULL;
    Py_DECREF(mod); /* sys.modules keeps it */
    return dict;
}

/* The entry of VERSIONS pydantic.version.VERSION names, or NULL. */
static const known_version *pydantic_version(copium_protocol *P)
{
    PyObject *v = peek(module_dict(P->names.pydantic_version), P->names.version);
    if (v == NULL || !PyUnicode_Check(v))
        return NULL;
    for (size_t i = 0; i < sizeof(VERSIONS) / sizeof(VERSIONS[0]); i++) {
        if (PyUnicode_CompareWithASCIIString(v, VERSIONS[i].version) == 0)
            return &VERSIONS[i];
    }
    return NULL;
}

/* The object slot `name` of base, as a member descriptor of its own dict that tp finds first:
 * its offset, or -1. */
static Py_ssize_t own_slot(PyTypeObject *tp, PyObject *base_dict, PyObject *name)
{
    PyObject *descr = peek(base_dict, name);
    if (descr == NULL || !Py_IS_TYPE(descr, &PyMemberDescr_Type) ||
        copium_type_lookup(tp, name) != descr)
        return -1;
    PyMemberDef *m = ((PyMemberDescrObject *)descr)->d_member;
    if (m->type != Py_T_OBJECT_EX || (m->flags & Py_READONLY) || m->offset <= 0)
        return -1;
    return m->offset;
}

/* f is the function `module`.`qualname` (a Python function of that module's globals). */
static int is_function(PyObject *f, PyObject *globals, const char *qualname)
{
    if (f == NULL || !PyFunction_Check(f) || PyFunction_GET_GLOBALS(f) != globals)
        return 0;
    PyObject *name = ((PyFunctionObject *)f)->func_qualname;
    return name != NULL && PyUnicode_Check(name) &&
           PyUnicode_CompareWithASCIIString(name, qualname) == 0;
}

/* The class named `name` in `module`'s dict when it is in tp's MRO, else NULL. */
static PyTypeObject *mro_class(PyTypeObject *tp, PyObject *mdict, PyObject *name)
{
    PyObject *cls = peek(mdict, name);
    if (cls == NULL || !PyType_Check(cls))
        return NULL;
    PyObject *mro = tp->tp_mro;
    if (mro == NULL || !PyTuple_Check(mro))
        return NULL;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(mro); i++) {
        if (PyTuple_GET_ITEM(mro, i) == cls)
            return (PyTypeObject *)cls;
    }
    return NULL;
}

/* Fill f for tp (as it is now). f->kind stays KIND_NONE when tp is no pydantic model. */
static void compute(copium_protocol *P, PyTypeObject *tp, model_facts *f)
{
    memset(f, 0, sizeof(*f));
    f->type = tp;
    f->epoch = P->stdlib.epoch;
    unsigned int version = assigned_version(P, tp);
    PyObject *main_dict = module_dict(P->names.pydantic_main);
    PyTypeObject *base = mro_class(tp, main_dict, P->names.base_model);
    /* A program that put the class in copy's or copyreg's tables gets stdlib's lookup order. */
    const known_version *known =
        base && !copium_stdlib_is_overridden(P, tp) ? pydantic_version(P) : NULL;
    if (known == NULL)
        goto done;
    PyObject *root_dict = module_dict(P->names.pydantic_root_model);
    PyTypeObject *root = mro_class(tp, root_dict, P->names.root_model);
    PyTypeObject *owner = root ? root : base;
    PyObject *owner_dict = owner->tp_dict, *base_dict = base->tp_dict; /* heap types */
    f->kind = root ? KIND_ROOT : KIND_MODEL;
    f->method_globals = root ? root_dict : main_dict;
    f->memo_first = known->memo_first;
    f->root_copy = known->root_copy;
    f->deepcopy_func = peek(P->stdlib.copy_dict, P->names.deepcopy_func);
    f->copy_func = peek(P->stdlib.copy_dict, P->names.copy_method);
    f->extra_offset = own_slot(tp, base_dict, P->names.pydantic_extra);
    f->fields_set_offset = own_slot(tp, base_dict, P->names.pydantic_fields_set);
    f->private_offset = own_slot(tp, base_dict, P->names.pydantic_private);
    f->object_setattr = copium_type_lookup(&PyBaseObject_Type, P->names.setattr);
    PyTypeObject *meta = Py_TYPE(tp);
    PyObject *type_getattribute = copium_type_lookup(&PyType_Type, P->names.getattribute);
    PyObject *dict_descr = peek(base_dict, P->names.dict);
    PyObject *meta_new = copium_type_lookup(meta, P->names.new_);
    /* What every step of the methods relies on: `cls.__new__(cls)` is object.__new__ (the
     * metaclass neither intercepts the lookup nor holds a data descriptor `__new__`),
     * `self.__dict__` and the slots are BaseModel's descriptors reached by object's
     * __getattribute__ (BaseModel.__getattr__ runs only for a missing attribute: an unset
     * slot, which is checked per object). */
    int common = version != 0 && f->object_setattr != NULL && f->deepcopy_func != NULL &&
                 f->copy_func != NULL && f->fields_set_offset > 0 &&
                 (root || (f->extra_offset > 0 && f->private_offset > 0)) &&
                 tp->tp_new == PyBaseObject_Type.tp_new &&
                 copium_type_lookup(tp, P->names.new_) == P->stdlib.object_new &&
                 (meta_new == NULL || Py_TYPE(meta_new)->tp_descr_set == NULL) &&
                 type_getattribute != NULL &&
                 copium_type_lookup(meta, P->names.getattribute) == type_getattribute &&
                 copium_type_lookup(tp, P->names.getattribute) ==
                     copium_type_lookup(&PyBaseObject_Type, P->names.getattribute) &&
                 dict_descr != NULL && Py_IS_TYPE(dict_descr, &PyGetSetDescr_Type) &&
                 copium_type_lookup(tp, P->names.dict) == dict_descr;
    if (!common)
        goto done;
#if PY_VERSION_HEX >= 0x030E0000
    /* 3.14: `cls in _atomic_types` comes before the dispatch tables (which the resolver and
     * the epoch already cover). */
    if (P->stdlib.atomic_types == NULL ||
        PySequence_Contains(P->stdlib.atomic_types, (PyObject *)tp) != 0 ||
        P->stdlib.copy_atomic_types == NULL ||
        PySequence_Contains(P->stdlib.copy_atomic_types, (PyObject *)tp) != 0 ||
        P->stdlib.copy_builtin_containers == NULL ||
        PySequence_Contains(P->stdlib.copy_builtin_containers, (PyObject *)tp) != 0) {
        PyErr_Clear();
        goto done;
    }
#endif
    const char *deep_name = root ? "RootModel.__deepcopy__" : "BaseModel.__deepcopy__";
    const char *copy_name = root ? "RootModel.__copy__" : "BaseModel.__copy__";
    PyObject *deep = peek(owner_dict, P->names.deepcopy);
    PyObject *shallow = peek(owner_dict, P->names.copy);
    f->deep_ok = copium_type_lookup(tp, P->names.deepcopy) == deep &&
                 is_function(deep, f->method_globals, deep_name);
    /* copy() looks __copy__ up on the class, through the metaclass. */
    f->copy_ok = copium_type_lookup(tp, P->names.copy) == shallow &&
                 copium_type_lookup(meta, P->names.copy) == NULL &&
                 is_function(shallow, f->method_globals, copy_name);
done:
    /* Facts found under a tag that changed meanwhile are not trusted. */
    f->version = copium_type_version(tp) == version ? version : 0;
}

/* The facts for tp, from the cache or computed now (NULL when tp cannot be cached: it is then
 * served by the default handler this time). */
static const model_facts *get_facts(copium_protocol *P, PyTypeObject *tp)
{
    model_facts *e = facts_entry(P, tp);
    if (e->type == tp && e->version != 0 && e->version == copium_type_version(tp) &&
        e->epoch == P->stdlib.epoch)
        return e;
    model_facts tmp;
    compute(P, tp, &tmp);
    if (tmp.version == 0 || !copium_stdlib_fresh(P))
        return NULL;
    *e = tmp;
    return e;
}

/* The objects the method reads from its module globals, when they are still what was checked:
 * 1 with *undefined borrowed (pydantic_core.PydanticUndefined), 0 otherwise. */
static int globals_unchanged(copium_protocol *P, const model_facts *f, PyObject **undefined)
{
    PyObject *g = f->method_globals;
    *undefined = peek(g, P->names.pydantic_undefined);
    return peek(g, P->names.deepcopy_func) == f->deepcopy_func &&
           peek(g, P->names.copy_method) == f->copy_func &&
           peek(g, P->names.object_setattr) == f->object_setattr &&
           (f->kind == KIND_ROOT || *undefined != NULL);
}

static inline PyObject *slot(PyObject *obj, Py_ssize_t offset)
{
    return *(PyObject **)((char *)obj + offset);
}

/* The state the method reads, when every piece is as the native path needs it: instance dict
 * (a new reference), the three slots (borrowed). 1, 0 (take the Python method) or -1. */
typedef struct {
    PyObject *dict, *extra, *fields_set, *private_, *undefined;
} model_state;

static int read_state(copium_protocol *P, PyObject *x, const model_facts *f, int deep,
                      model_state *st)
{
    st->dict = NULL;
    if (!globals_unchanged(P, f, &st->undefined))
        return 0;
    st->fields_set = slot(x, f->fields_set_offset);
    st->extra = st->private_ = NULL; /* RootModel's methods read neither */
    if (st->fields_set == NULL)
        return 0;
    if (f->kind == KIND_MODEL) {
        st->extra = slot(x, f->extra_offset);
        st->private_ = slot(x, f->private_offset);
        /* An unset slot would go to BaseModel.__getattr__. */
        if (st->extra == NULL || st->private_ == NULL)
            return 0;
        if (st->private_ != Py_None) {
            /* {k: v for k, v in private.items() ...}: exact dict, keys hashed in C. */
            if (!PyDict_CheckExact(st->private_))
                return 0;
            Py_ssize_t pos = 0;
            PyObject *k, *v;
            while (PyDict_Next(st->private_, &pos, &k, &v)) {
                if (!PyUnicode_CheckExact(k))
                    return 0;
            }
        }
    }
    PyObject *dict = PyObject_GenericGetDict(x, NULL);
    if (dict == NULL)
        return -1;
    if (deep) {
        /* getattr(x, "__deepcopy__") would find one in the instance dict first. */
        int rc = PyDict_Contains(dict, P->names.deepcopy);
        if (rc != 0) {
            Py_DECREF(dict);
            return rc < 0 ? -1 : 0;
        }
    }
    st->dict = dict;
    return 1;
}

/* `{k: v for k, v in private.items() if v is not PydanticUndefined}` */
static PyObject *private_without_undefined(PyObject *priv, PyObject *undefined)
{
    PyObject *d = PyDict_New(), *k, *v;
    if (d == NULL)
        return NULL;
    Py_ssize_t pos = 0;
    while (PyDict_Next(priv, &pos, &k, &v)) {
        if (v != undefined && PyDict_SetItem(d, k, v) < 0) {
            Py_DECREF(d);
            return NULL;
        }
    }
    return d;
}

/* `_object_setattr(m, name, value)`, value taken (NULL passes an error on). */
static int set_attr(PyObject *m, PyObject *name, PyObject *value)
{
    if (value == NULL)
        return -1;
    int rc = PyObject_GenericSetAttr(m, name, value);
    Py_DECREF(value);
    return rc;
}

/* `_object_setattr(m, '__dict__', d)` on a new instance, d taken (NULL passes an error on). On
 * 3.11 and 3.12 the __dict__ setter (subtype_setdict) first turns the instance's inline values
 * into a dict, and when that allocation fails it clears the MemoryError and raises
 * AttributeError("This object has no __dict__") (_PyObject_GetDictPtr); PyObject_GenericGetDict
 * makes the same dict and reports MemoryError, after which the setter allocates nothing. 3.10
 * has no inline values, and from 3.13 the setter replaces them without allocating. */
static int set_dict(copium_protocol *P, PyObject *m, PyObject *d)
{
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030D0000
    if (d != NULL) {
        PyObject *own = PyObject_GenericGetDict(m, NULL);
        if (own == NULL) {
            Py_DECREF(d);
            return -1;
        }
        Py_DECREF(own);
    }
#endif
    return set_attr(m, P->names.dict, d);
}

static PyObject *pydantic_deepcopy(copium_ctx *ctx, PyObject *x, copium_hash_t hash, void *data)
{
    copium_protocol *P = copium_proto(ctx);
    (void)data;
    PyTypeObject *tp = Py_TYPE(x);
    /* A hook earlier in this call may have changed stdlib's tables. */
    if (copium_handlers_sync(P) < 0)
        return NULL;
    const model_facts *cached = get_facts(P, tp);
    if (cached == NULL || cached->kind == KIND_NONE) {
        copium_registry_forget(&P->core->registry,
                               tp); /* not a type of this handler (any more): ask again */
        return copium_deepcopy_default(ctx, x, hash);
    }
    /* The cache entry may be reused by code that the copies below run. */
    const model_facts facts = *cached, *f = &facts;
    model_state st;
    int rc = f->deep_ok ? read_state(P, x, f, 1, &st) : 0;
    if (rc <= 0)
        return rc < 0 ? NULL : copium_deepcopy_default(ctx, x, hash);
    int memo_first = f->memo_first, model = f->kind == KIND_MODEL;
    /* `m = cls.__new__(cls)` */
    PyObject *m = PyBaseObject_Type.tp_new(tp, P->stdlib.empty_tuple, NULL);
    if (m == NULL)
        goto error;
    /* Borrowed state stays alive: x holds it, and the copies below cannot change x's slots
     * without running Python code, which reads them afresh (the slots are re-read). */
    if (memo_first && copium_memo_remember(ctx, x, hash, m) < 0)
        goto error;
    /* `_object_setattr(m, '__dict__', deepcopy(self.__dict__, memo=memo))` */
    if (set_dict(P, m, copium_deepcopy_child(ctx, st.dict)) < 0)
        goto error;
    if (model) {
        /* `_object_setattr(m, '__pydantic_extra__', deepcopy(self.__pydantic_extra__, memo))` */
        PyObject *extra = slot(x, f->extra_offset);
        if (extra == NULL) { /* unset by Python code meanwhile */
            PyErr_Format(PyExc_AttributeError, "'%.100s' object has no attribute '%U'", tp->tp_name,
                         P->names.pydantic_extra);
            goto error;
        }
        if (set_attr(m, P->names.pydantic_extra, copium_deepcopy_child(ctx, extra)) < 0)
            goto error;
    }
    /* `_object_setattr(m, '__pydantic_fields_set__', copy(self.__pydantic_fields_set__))` */
    PyObject *fields_set = slot(x, f->fields_set_offset);
    if (fields_set == NULL) {
        PyErr_Format(PyExc_AttributeError, "'%.100s' object has no attribute '%U'", tp->tp_name,
                     P->names.pydantic_fields_set);
        goto error;
    }
    if (set_attr(m, P->names.pydantic_fields_set, copium_copy(P->core, fields_set)) < 0)
        goto error;
    if (model) {
        PyObject *priv = slot(x, f->private_offset), *value;
        if (priv == NULL || priv == Py_None || !PyDict_CheckExact(priv)) {
            /* Unset: `not hasattr(self, ...)`; None; anything else (Python code ran and
             * left a non-dict) is what the comprehension would fail on: leave it to it. */
            value = Py_NewRef(Py_None);
            if (priv != NULL && priv != Py_None) {
                Py_DECREF(value);
                PyErr_SetString(PyExc_TypeError, "__pydantic_private__ changed during the copy");
                goto error;
            }
        } else {
            PyObject *tmp = private_without_undefined(priv, st.undefined);
            if (tmp == NULL)
                goto error;
            value = copium_deepcopy_child(ctx, tmp); /* memoized and kept alive, as stdlib */
            Py_DECREF(tmp);
        }
        if (set_attr(m, P->names.pydantic_private, value) < 0)
            goto error;
    }
    /* stdlib's deepcopy after the method: `memo[d] = y; _keep_alive(x, memo)` */
    rc = memo_first ? copium_memo_complete(ctx, x, hash, m) : copium_memo_store(ctx, x, hash, m);
    if (rc < 0)
        goto error;
    Py_DECREF(st.dict);
    return m;
error:
    Py_DECREF(st.dict);
    Py_XDECREF(m);
    return NULL;
}

static PyObject *pydantic_copy(PyObject *x, void *data)
{
    copium_protocol *P = copium_proto_current();
    (void)data;
    PyTypeObject *tp = Py_TYPE(x);
    if (copium_handlers_sync(P) < 0)
        return NULL;
    const model_facts *cached = get_facts(P, tp);
    if (cached == NULL || cached->kind == KIND_NONE || !cached->copy_ok) {
        if (cached == NULL || cached->kind == KIND_NONE)
            copium_registry_forget(&P->core->registry, tp);
        return copium_copy_default(P->core, x);
    }
    const model_facts facts = *cached, *f = &facts;
    model_state st;
    int rc = read_state(P, x, f, 0, &st);
    if (rc <= 0)
        return rc < 0 ? NULL : copium_copy_default(P->core, x);
    PyObject *m = NULL, *d = NULL;
    int model = f->kind == KIND_MODEL;
    if (!model && f->root_copy && !PyDict_CheckExact(st.dict))
        goto fallback; /* `new_dict['root'] = ...` on another mapping: the Python method */
    m = PyBaseObject_Type.tp_new(tp, P->stdlib.empty_tuple, NULL);
    if (m == NULL)
        goto error;
    /* `copy(self.__dict__)`; RootModel 2.13+: `new_dict['root'] = copy(self.__dict__['root'])` */
    d = copium_copy(P->core, st.dict);
    if (d == NULL)
        goto error;
    if (!model && f->root_copy) {
        PyObject *root = PyDict_GetItemWithError(st.dict, P->names.root);
        if (root == NULL) {
            if (!PyErr_Occurred())
                PyErr_SetObject(PyExc_KeyError, P->names.root);
            goto error;
        }
        PyObject *root_copy = copium_copy(P->core, root);
        if (root_copy == NULL)
            goto error;
        rc = PyObject_SetItem(d, P->names.root, root_copy);
        Py_DECREF(root_copy);
        if (rc < 0)
            goto error;
    }
    rc = set_dict(P, m, d);
    d = NULL;
    if (rc < 0)
        goto error;
    if (model && set_attr(m, P->names.pydantic_extra, copium_copy(P->core, st.extra)) < 0)
        goto error;
    if (set_attr(m, P->names.pydantic_fields_set, copium_copy(P->core, st.fields_set)) < 0)
        goto error;
    if (model) {
        PyObject *value = st.private_ == Py_None
                              ? Py_NewRef(Py_None)
                              : private_without_undefined(st.private_, st.undefined);
        if (set_attr(m, P->names.pydantic_private, value) < 0)
            goto error;
    }
    Py_DECREF(st.dict);
    return m;
fallback:
    Py_DECREF(st.dict);
    return copium_copy_default(P->core, x);
error:
    Py_XDECREF(d);
    Py_DECREF(st.dict);
    Py_XDECREF(m);
    return NULL;
}

/* QUIET: the method's own steps run no Python code (object.__new__, descriptor sets on a new
 * instance, a set copied by set.copy, a dict of str keys); the copies of the children go
 * through the engine, and every fallback through copium_deepcopy_default, which readies the
 * call for Python code. */
static const copium_handler pydantic_handler = {
    .struct_size = sizeof(copium_handler),
    .name = "pydantic",
    .flags = COPIUM_HANDLER_QUIET | COPIUM_HANDLER_SELF_CHECKED,
    .deepcopy = pydantic_deepcopy,
    .copy = pydantic_copy,
};

const copium_handler *copium_pydantic_handler_for(copium_protocol *P, PyTypeObject *type)
{
    /* Cheap first: a class named BaseModel in the MRO, then the real check. */
    PyObject *mro = type->tp_mro;
    if (mro == NULL || !PyTuple_Check(mro) || !PyType_HasFeature(type, Py_TPFLAGS_HEAPTYPE))
        return NULL;
    int named = 0;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(mro) && !named; i++)
        named = strcmp(((PyTypeObject *)PyTuple_GET_ITEM(mro, i))->tp_name, "BaseModel") == 0;
    if (!named)
        return NULL;
    const model_facts *f = get_facts(P, type);
    PyErr_Clear();
    return f != NULL && f->kind != KIND_NONE ? &pydantic_handler : NULL;
}

int copium_pydantic_claims(copium_protocol *P, PyTypeObject *type)
{
    if (!PyType_HasFeature(type, Py_TPFLAGS_HEAPTYPE))
        return 0;
    const model_facts *f = get_facts(P, type);
    PyErr_Clear();
    return f != NULL && f->kind != KIND_NONE;
}

int copium_pydantic_is_handler(const copium_handler *h)
{
    return h->name == pydantic_handler.name && h->deepcopy == pydantic_handler.deepcopy;
}

int copium_pydantic_cache_init(copium_protocol *P)
{
    P->pydantic_cache = PyMem_Calloc(1, sizeof(*P->pydantic_cache));
    if (P->pydantic_cache == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

void copium_pydantic_cache_fini(copium_protocol *P)
{
    PyMem_Free(P->pydantic_cache);
    P->pydantic_cache = NULL;
}
