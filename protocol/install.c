/* Installation of the builtin handlers: which handler serves which exact type, and the
 * resolver the registry asks about any other type. The resolver claims metaclass instances
 * (classes) and a few exact stdlib types whose own __copy__/__deepcopy__ return the object
 * itself (re.Pattern, re.Match, decimal.Decimal, fractions.Fraction) as atoms, recognising them
 * by identity with the class in their already imported module, never importing anything;
 * every other type gets the generic handler, stdlib's lookup order. */
#include "install.h"

#include <string.h>

#include "../core/explain.h"
#include "../core/registry.h"
#include "../handlers/dict_table.h"
#include "../handlers/handlers.h"
#include "generic.h"
#include "memo_rejected.h"
#include "object.h"
#include "pycallable.h"
#include "pydantic.h"
#include "stdlib.h"
#include "uuid.h"

typedef struct {
    const char *module;
    const char *name;
} stdlib_atom;

static const stdlib_atom stdlib_atoms[] = {
    {"re", "Pattern"},
    {"re", "Match"},
    {"decimal", "Decimal"},
    {"fractions", "Fraction"},
};

/* Is type the class `name` of the (already imported) module `module`? */
static int is_module_class(PyTypeObject *type, const char *module, const char *name)
{
    const char *short_name = strrchr(type->tp_name, '.');
    short_name = short_name ? short_name + 1 : type->tp_name;
    if (strcmp(short_name, name) != 0)
        return 0;
    PyObject *module_name = PyUnicode_FromString(module);
    if (module_name == NULL)
        goto fail;
    PyObject *mod = PyImport_GetModule(module_name);
    Py_DECREF(module_name);
    if (mod == NULL)
        goto fail; /* not imported (no error set) or an error: not an atom either way */
    PyObject *cls = PyObject_GetAttrString(mod, name);
    Py_DECREF(mod);
    if (cls == NULL)
        goto fail;
    int same = cls == (PyObject *)type;
    Py_DECREF(cls);
    return same;
fail:
    PyErr_Clear();
    return 0;
}

typedef struct {
    PyTypeObject *type;
    const copium_handler *handler;
} builtin_entry;

/* The builtin registrations of the types with a public symbol: process-wide and constant
 * (static types, the same in every interpreter). The four others are found at install, into
 * the interpreter's state (P->late_atoms), so that nothing process-wide is written while other
 * interpreters read. */
static const builtin_entry builtins[] = {
    {&PyLong_Type, &copium_stdlib_atomic_handler},
    {&PyFloat_Type, &copium_stdlib_atomic_handler},
    {&PyBool_Type, &copium_stdlib_atomic_handler},
    {&PyComplex_Type, &copium_stdlib_atomic_handler},
    {&PyBytes_Type, &copium_stdlib_atomic_handler},
    {&PyUnicode_Type, &copium_stdlib_atomic_handler},
    {&PyCode_Type, &copium_stdlib_atomic_handler},
    {&PyType_Type, &copium_stdlib_atomic_handler},
    {&PyRange_Type, &copium_stdlib_atomic_handler},
    {&PyCFunction_Type, &copium_stdlib_atomic_handler},
    {&PyFunction_Type, &copium_stdlib_atomic_handler},
    {&PyProperty_Type, &copium_stdlib_atomic_handler},
    {&PySlice_Type, &copium_immutable_handler},
    {&PyList_Type, &copium_list_handler},
    {&PyTuple_Type, &copium_tuple_handler},
    {&PyDict_Type, &copium_dict_handler},
    {&PySet_Type, &copium_set_handler},
    {&PyFrozenSet_Type, &copium_frozenset_handler},
    {&PyByteArray_Type, &copium_bytearray_handler},
    {&PyMethod_Type, &copium_method_handler},
#if PY_VERSION_HEX >= 0x030F0000
    {&PyFrozenDict_Type, &copium_frozendict_handler},
#endif
};
#define N_BUILTINS   (sizeof(builtins) / sizeof(builtins[0]))
#define N_LATE_ATOMS (sizeof(((copium_protocol *)0)->late_atoms) / sizeof(PyTypeObject *))

/* The builtin handler of type, or NULL when it has none. */
static const copium_handler *builtin_handler(const copium_protocol *P, PyTypeObject *type)
{
    for (size_t i = 0; i < N_BUILTINS; i++) {
        if (builtins[i].type == type)
            return builtins[i].handler;
    }
    for (size_t i = 0; i < N_LATE_ATOMS; i++) {
        if (P->late_atoms[i] == type)
            return &copium_stdlib_atomic_handler;
    }
    return NULL;
}

static const copium_handler *resolve(PyTypeObject *type, void *data)
{
    copium_protocol *P = data;
    if (copium_stdlib_is_overridden(P, type))
        return &copium_generic_handler;
    /* A builtin type reaches the resolver again when a change to stdlib's tables was undone. */
    const copium_handler *builtin = builtin_handler(P, type);
    if (builtin != NULL)
        return builtin;
    const copium_handler *value_type = copium_datetime_handler_for(&P->handlers, type);
    if (value_type == NULL)
        value_type = copium_uuid_handler_for(P, type);
    if (value_type == NULL)
        value_type = copium_pydantic_handler_for(P, type);
    if (value_type != NULL)
        return value_type;
    /* stdlib: `issubclass(cls, type)` makes every class an atom (after the dispatch table). */
    if (PyType_IsSubtype(type, &PyType_Type))
        return &copium_atomic_handler;
    for (size_t i = 0; i < sizeof(stdlib_atoms) / sizeof(stdlib_atoms[0]); i++) {
        if (is_module_class(type, stdlib_atoms[i].module, stdlib_atoms[i].name))
            return &copium_atomic_handler;
    }
    return &copium_generic_handler;
}

int copium_handlers_install(copium_protocol *P, copium_core *core)
{
    memset(P, 0, sizeof(*P));
    P->core = core;
    P->watcher_id = -1;
    if (copium_core_init(core, resolve, P, &copium_generic_handler, P) < 0)
        return -1;
    if (copium_object_cache_init(P) < 0 || copium_pydantic_cache_init(P) < 0 ||
        copium_uuid_facts_init(P) < 0 || copium_handlers_state_init(&P->handlers) < 0)
        return -1;
    if (copium_stdlib_init(P) < 0)
        return -1;
    if (copium_dict_table_init() < 0)
        return -1;
    PyObject *weakref = PyImport_ImportModule("_weakref");
    if (weakref == NULL)
        return -1;
    PyObject *ref = PyObject_GetAttrString(weakref, "ref");
    Py_DECREF(weakref);
    if (ref == NULL)
        return -1;
    if (!PyType_Check(ref)) {
        Py_DECREF(ref);
        PyErr_SetString(PyExc_TypeError, "copium: _weakref.ref is not a type");
        return -1;
    }
    P->late_atoms[0] = Py_TYPE(Py_None);
    P->late_atoms[1] = Py_TYPE(Py_Ellipsis);
    P->late_atoms[2] = Py_TYPE(Py_NotImplemented);
    P->late_atoms[3] = (PyTypeObject *)ref; /* a static type: alive as long as the process */
    Py_DECREF(ref);
    for (size_t i = 0; i < N_BUILTINS; i++) {
        if (copium_registry_register(&core->registry, builtins[i].type, builtins[i].handler) < 0)
            return -1;
    }
    for (size_t i = 0; i < N_LATE_ATOMS; i++) {
        if (copium_registry_register(&core->registry, P->late_atoms[i],
                                     &copium_stdlib_atomic_handler) < 0)
            return -1;
    }
    return 0;
}

void copium_handlers_fini(copium_protocol *P)
{
    if (P->core == NULL)
        return; /* never installed */
    copium_pydantic_cache_fini(P);
    copium_core_fini(P->core);
    copium_stdlib_fini(P);
    copium_object_cache_fini(P);
    copium_uuid_facts_fini(P);
    copium_handlers_state_fini(&P->handlers);
    copium_memo_rejected_clear(&P->memo_rejected);
    P->core = NULL;
}

int copium_handlers_traverse(copium_protocol *P, visitproc visit, void *arg)
{
    if (P->core == NULL)
        return 0;
    return copium_core_traverse(P->core, visit, arg);
}

int copium_handlers_is_builtin(copium_protocol *P, PyTypeObject *type)
{
    const copium_handler *current = copium_registry_find(&P->core->registry, type);
    if (current == NULL)
        return 0;
    const copium_handler *builtin = builtin_handler(P, type);
    if (builtin == NULL && current->name == copium_atomic_handler.name)
        builtin = &copium_atomic_handler; /* a class or a recognised stdlib type */
    if (builtin == NULL && (copium_datetime_is_handler(current) || copium_uuid_is_handler(current)))
        return 1;
    return builtin != NULL && current->name == builtin->name && current->flags == builtin->flags &&
           current->deepcopy == builtin->deepcopy && current->copy == builtin->copy;
}

int copium_handlers_unregister(copium_protocol *P, PyTypeObject *type)
{
    if (copium_handlers_is_builtin(P, type))
        return 0;
    int removed = copium_registry_unregister(&P->core->registry, type);
    /* A builtin type whose replacement was removed gets its builtin handler back now, so that
     * copium.handlers() lists it at once. */
    if (removed)
        (void)copium_registry_lookup(&P->core->registry, type);
    return removed;
}

int copium_handlers_explain_kind(const copium_handler *h)
{
    if (h->flags & COPIUM_HANDLER_ATOMIC)
        return COPIUM_PATH_ATOM;
    if (h->deepcopy == NULL || h->deepcopy == copium_generic_handler.deepcopy)
        return COPIUM_PATH_OBJECT;
    if (copium_pycallable_is_handler(h))
        return COPIUM_PATH_PYTHON_HANDLER;
    if (copium_datetime_is_handler(h) || copium_uuid_is_handler(h))
        return COPIUM_PATH_VALUE;
    if (copium_pydantic_is_handler(h))
        return COPIUM_PATH_BUILTIN;
    /* The registry holds copies of the vtables: a builtin is known by its function. */
    for (size_t i = 0; i < N_BUILTINS; i++) {
        if (builtins[i].handler->deepcopy != NULL && h->deepcopy == builtins[i].handler->deepcopy)
            return COPIUM_PATH_BUILTIN;
    }
    return COPIUM_PATH_PLUGIN;
}
