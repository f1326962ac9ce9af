/* Installation of the builtin handlers: which handler serves which exact type, and the
 * resolver the registry asks about any other type. The resolver claims metaclass instances
 * (classes) and a few exact stdlib types whose own __copy__/__deepcopy__ return the object
 * itself (re.Pattern, re.Match, decimal.Decimal, fractions.Fraction) as atoms, recognising them
 * by identity with the class in their already imported module, never importing anything;
 * every other type gets the generic handler, stdlib's lookup order. */
#include "handlers.h"

#include <string.h>

#include "../core/registry.h"
#include "protocol.h"

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

static const copium_handler *resolve(PyTypeObject *type)
{
    if (copium_stdlib_is_overridden(type))
        return &copium_generic_handler;
    /* stdlib: `issubclass(cls, type)` makes every class an atom (after the dispatch table). */
    if (PyType_IsSubtype(type, &PyType_Type))
        return &copium_atomic_handler;
    for (size_t i = 0; i < sizeof(stdlib_atoms) / sizeof(stdlib_atoms[0]); i++) {
        if (is_module_class(type, stdlib_atoms[i].module, stdlib_atoms[i].name))
            return &copium_atomic_handler;
    }
    return &copium_generic_handler;
}

static int register_named(PyObject *module, const char *name, const copium_handler *h)
{
    PyObject *type = PyObject_GetAttrString(module, name);
    if (type == NULL)
        return -1;
    int rc = copium_registry_register((PyTypeObject *)type, h);
    Py_DECREF(type);
    return rc;
}

int copium_handlers_install(void)
{
    if (copium_stdlib_init() < 0)
        return -1;
    if (copium_registry_init(resolve, &copium_generic_handler) < 0)
        return -1;

    static PyTypeObject *const atomic_types[] = {
        &PyLong_Type,      &PyFloat_Type,    &PyBool_Type,     &PyComplex_Type,
        &PyBytes_Type,     &PyUnicode_Type,  &PyCode_Type,     &PyType_Type,
        &PyRange_Type,     &PyCFunction_Type, &PyFunction_Type, &PyProperty_Type,
    };
    for (size_t i = 0; i < sizeof(atomic_types) / sizeof(atomic_types[0]); i++) {
        if (copium_registry_register(atomic_types[i], &copium_atomic_handler) < 0)
            return -1;
    }
    const struct {
        PyTypeObject *type;
        const copium_handler *handler;
    } containers[] = {
        {Py_TYPE(Py_None), &copium_atomic_handler},
        {Py_TYPE(Py_Ellipsis), &copium_atomic_handler},
        {Py_TYPE(Py_NotImplemented), &copium_atomic_handler},
        {&PySlice_Type, &copium_immutable_handler},
        {&PyList_Type, &copium_list_handler},
        {&PyTuple_Type, &copium_tuple_handler},
        {&PyDict_Type, &copium_dict_handler},
        {&PySet_Type, &copium_set_handler},
        {&PyFrozenSet_Type, &copium_frozenset_handler},
        {&PyByteArray_Type, &copium_bytearray_handler},
        {&PyMethod_Type, &copium_method_handler},
    };
    for (size_t i = 0; i < sizeof(containers) / sizeof(containers[0]); i++) {
        if (copium_registry_register(containers[i].type, containers[i].handler) < 0)
            return -1;
    }
    /* weakref.ref has no public type symbol on every version: take it from _weakref. */
    PyObject *weakref = PyImport_ImportModule("_weakref");
    if (weakref == NULL)
        return -1;
    int rc = register_named(weakref, "ref", &copium_atomic_handler);
    Py_DECREF(weakref);
    return rc;
}

void copium_handlers_fini(void)
{
    copium_registry_fini();
    copium_stdlib_fini();
}
