/* The extension module copium._copium: argument parsing with stdlib's signatures and errors,
 * the module's set-up (the builtin handlers into the registry) and nothing else; every copy
 * decision lives in core/ and handlers/. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "../batch/batch.h"
#include "../core/compat.h"
#include "../core/engine.h"
#include "../core/registry.h"
#include "../handlers/dict_table.h"
#include "../protocol/install.h"
#include "../protocol/pycallable.h"
#include "args.h"
#include "capi.h"
#include "config.h"
#include "explain.h"
#include "extra.h"
#include "patch.h"
#include "state.h"

#ifndef COPIUM_VERSION
#error "COPIUM_VERSION (the project version in meson.build) must be defined by the build"
#endif

/* deepcopy's arguments in any other shape than (x) or (x, memo), keywords included. */
/* deepcopy with a memo, or its arguments in any other shape than (x) or (x, memo), keywords
 * included. Out of line: the commonest call's path stays short. */
static COPIUM_NOINLINE PyObject *deepcopy_other(PyObject *module, PyObject *const *args,
                                                Py_ssize_t nargs, PyObject *kwnames)
{
    copium_protocol *P = copium_module_proto(module);
    if (kwnames == NULL && nargs == 2)
        return copium_config_deepcopy(P, args[0], args[1]);
    static const char *const names[] = {"x", "memo"};
    PyObject *params[2];
    if (copium_parse_args("deepcopy", args, nargs, kwnames, names, 2, 1, params) < 0)
        return NULL;
    return copium_config_deepcopy(P, params[0], params[1]);
}

static PyObject *py_deepcopy(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                             PyObject *kwnames)
{
    copium_module_state *st = copium_module_state_of(module);
    /* memo=None is what 3.11's patched copy.deepcopy passes. */
    if (kwnames == NULL && (nargs == 1 || (nargs == 2 && args[1] == Py_None)))
        return copium_config_deepcopy_fresh(&st->proto, &st->core, args[0]);
    return deepcopy_other(module, args, nargs, kwnames);
}

static PyObject *py_copy(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                         PyObject *kwnames)
{
    static const char *const names[] = {"x"};
    PyObject *x;
    if (nargs == 1 && kwnames == NULL)
        x = args[0];
    else if (copium_parse_args("copy", args, nargs, kwnames, names, 1, 1, &x) < 0)
        return NULL;
    return copium_config_copy(copium_module_proto(module), x);
}

#if PY_VERSION_HEX >= 0x030D0000
/* copy.replace(obj, /, **changes) as in 3.13's Lib/copy.py. */
static PyObject *py_replace(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    if (PyTuple_GET_SIZE(args) != 1) {
        PyErr_Format(PyExc_TypeError,
                     PyTuple_GET_SIZE(args) == 0
                         ? "replace() missing 1 required positional argument: 'obj'"
                         : "replace() takes 1 positional argument but %zd were given",
                     PyTuple_GET_SIZE(args));
        return NULL;
    }
    PyObject *obj = PyTuple_GET_ITEM(args, 0);
    PyObject *cls = PyObject_GetAttrString(obj, "__class__");
    if (cls == NULL)
        return NULL;
    PyObject *func;
    if (PyObject_GetOptionalAttrString(cls, "__replace__", &func) < 0) {
        Py_DECREF(cls);
        return NULL;
    }
    if (func == NULL || func == Py_None) {
        PyObject *name = PyObject_GetAttrString(cls, "__name__");
        if (name != NULL)
            PyErr_Format(PyExc_TypeError, "replace() does not support %S objects", name);
        Py_XDECREF(name);
        Py_XDECREF(func);
        Py_DECREF(cls);
        return NULL;
    }
    Py_DECREF(cls);
    PyObject *result = PyObject_Call(func, args, kwargs);
    Py_DECREF(func);
    return result;
}
#endif

/* The capsule name a C plugin gives a copium_handler it hands to copium.register_handler. */
#define HANDLER_CAPSULE_NAME "copium.handler"

static PyObject *py_register_handler(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    copium_protocol *P = copium_module_proto(module);
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError,
                     "register_handler() takes 2 positional arguments but %zd "
                     "were given",
                     nargs);
        return NULL;
    }
    PyObject *type = args[0], *handler = args[1];
    if (!PyType_Check(type)) {
        PyErr_Format(PyExc_TypeError, "register_handler() needs a type, not %.200s",
                     Py_TYPE(type)->tp_name);
        return NULL;
    }
    int rc;
    if (PyCapsule_CheckExact(handler)) {
        if (!PyCapsule_IsValid(handler, HANDLER_CAPSULE_NAME)) {
            PyErr_Format(PyExc_ValueError,
                         "register_handler() needs a capsule named '%s' holding a "
                         "copium_handler, not one named '%s'",
                         HANDLER_CAPSULE_NAME,
                         PyCapsule_GetName(handler) ? PyCapsule_GetName(handler) : "(null)");
            return NULL;
        }
        const copium_handler *h = PyCapsule_GetPointer(handler, HANDLER_CAPSULE_NAME);
        rc = copium_capi_register(P, (PyTypeObject *)type, h, handler);
    } else {
        rc = copium_register_callable(P, (PyTypeObject *)type, handler);
    }
    if (rc < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *py_unregister_handler(PyObject *module, PyObject *type)
{
    if (!PyType_Check(type)) {
        PyErr_Format(PyExc_TypeError, "unregister_handler() needs a type, not %.200s",
                     Py_TYPE(type)->tp_name);
        return NULL;
    }
    /* A builtin handler cannot be removed, only replaced: nothing registered to take away. */
    return PyBool_FromLong(
        copium_handlers_unregister(copium_module_proto(module), (PyTypeObject *)type));
}

static int add_handler_name(PyTypeObject *type, const copium_handler *h, void *dict)
{
    PyObject *name = PyUnicode_FromString(h->name);
    if (name == NULL)
        return -1;
    int rc = PyDict_SetItem((PyObject *)dict, (PyObject *)type, name);
    Py_DECREF(name);
    return rc;
}

static PyObject *py_dict_table_verified(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    return PyBool_FromLong(copium_dict_table_verified());
}

static PyObject *py_handlers(PyObject *module, PyObject *unused)
{
    (void)unused;
    PyObject *dict = PyDict_New();
    if (dict == NULL)
        return NULL;
    if (copium_registry_foreach(&copium_module_state_of(module)->core.registry, add_handler_name,
                                dict) != 0) {
        Py_DECREF(dict);
        return NULL;
    }
    PyObject *view = PyDictProxy_New(dict);
    Py_DECREF(dict);
    return view;
}

PyDoc_STRVAR(deepcopy_doc, "deepcopy($module, /, x, memo=None)\n--\n\n"
                           "Deep copy operation on arbitrary Python objects, as copy.deepcopy.");
PyDoc_STRVAR(copy_doc, "copy($module, /, x)\n--\n\n"
                       "Shallow copy operation on arbitrary Python objects, as copy.copy.");

static PyMethodDef module_methods[] = {
    {"deepcopy", (PyCFunction)(void (*)(void))py_deepcopy, METH_FASTCALL | METH_KEYWORDS,
     deepcopy_doc},
    {"copy", (PyCFunction)(void (*)(void))py_copy, METH_FASTCALL | METH_KEYWORDS, copy_doc},
    {"register_handler", (PyCFunction)(void (*)(void))py_register_handler, METH_FASTCALL,
     PyDoc_STR("register_handler($module, type, handler, /)\n--\n\n"
               "Copy instances of exactly `type` with `handler`: a callable (obj, memo) -> copy, "
               "or a capsule made by a C plugin. Replaces any handler `type` had.")},
    {"unregister_handler", py_unregister_handler, METH_O,
     PyDoc_STR("unregister_handler($module, type, /)\n--\n\n"
               "Remove the handler registered for `type`; True if there was one. Builtin "
               "handlers can be replaced but not removed (False).")},
    {"handlers", py_handlers, METH_NOARGS,
     PyDoc_STR("handlers($module, /)\n--\n\n"
               "A read-only mapping of every registered type to its handler's name, builtins "
               "included.")},
    /* copium.extra, copium.config and copium.patch (python/extra.c, config.c, patch.c). */
    {"replicate", (PyCFunction)(void (*)(void))copium_py_replicate, METH_FASTCALL,
     PyDoc_STR(COPIUM_REPLICATE_DOC)},
    {"repeatcall", (PyCFunction)(void (*)(void))copium_py_repeatcall, METH_FASTCALL,
     PyDoc_STR(COPIUM_REPEATCALL_DOC)},
    {"snapshot", (PyCFunction)(void (*)(void))copium_py_snapshot, METH_FASTCALL | METH_KEYWORDS,
     PyDoc_STR(COPIUM_SNAPSHOT_DOC)},
    {"pin", (PyCFunction)(void (*)(void))copium_py_pin, METH_FASTCALL | METH_KEYWORDS,
     PyDoc_STR(COPIUM_PIN_DOC)},
    {"unpin", (PyCFunction)(void (*)(void))copium_py_unpin, METH_FASTCALL | METH_KEYWORDS,
     PyDoc_STR(COPIUM_UNPIN_DOC)},
    {"pinned", copium_py_pinned, METH_NOARGS, PyDoc_STR(COPIUM_PINNED_DOC)},
    {"clear_pins", copium_py_clear_pins, METH_NOARGS, PyDoc_STR(COPIUM_CLEAR_PINS_DOC)},
    {"_dict_table_verified", py_dict_table_verified, METH_NOARGS, NULL},
    /* copium.explain (python/copium/report.py, python/explain.c). */
    {"_explain", (PyCFunction)(void (*)(void))copium_py_explain, METH_FASTCALL, NULL},
    {"_configure", (PyCFunction)(void (*)(void))copium_py_configure, METH_FASTCALL, NULL},
    {"_configuration", copium_py_configuration, METH_NOARGS, NULL},
#ifdef COPIUM_PATCH_VECTORCALL
    {"_patch_vectorcall", (PyCFunction)(void (*)(void))copium_py_patch_vectorcall, METH_FASTCALL,
     NULL},
    {"_unpatch_vectorcall", copium_py_unpatch_vectorcall, METH_NOARGS, NULL},
    {"_vectorcall_patched", copium_py_vectorcall_patched, METH_NOARGS, NULL},
#endif
#if PY_VERSION_HEX >= 0x030D0000
    {"replace", (PyCFunction)(void (*)(void))py_replace, METH_VARARGS | METH_KEYWORDS,
     PyDoc_STR("replace($module, obj, /, **changes)\n--\n\n"
               "Return a new object replacing specified fields with new values, as "
               "copy.replace.")},
#endif
    {NULL, NULL, 0, NULL},
};

/* Everything the state holds, released: at m_clear (a collection that found the module in a
 * cycle) and at m_free. Safe to run twice. */
static int module_clear(PyObject *module)
{
    copium_module_state *st = copium_module_state_of(module); /* never NULL: in the module */
#ifdef COPIUM_PATCH_VECTORCALL
    copium_patch_fini(&st->patch);
#endif
    copium_batch_fini(st->batch);
    st->batch = NULL;
    copium_handlers_fini(&st->proto); /* the core's state too */
    Py_CLEAR(st->error_type);
    return 0;
}

static int module_traverse(PyObject *module, visitproc visit, void *arg)
{
    copium_module_state *st = copium_module_state_of(module);
    Py_VISIT(st->error_type);
    if (st->batch != NULL) {
        Py_VISIT(st->batch->snapshot_type);
        Py_VISIT(st->batch->pin_type);
    }
    return copium_handlers_traverse(&st->proto, visit, arg);
}

static void module_free(void *module)
{
    (void)module_clear((PyObject *)module);
}

/* The module object's type: ModuleType with the state at COPIUM_MODULE_STATE_OFFSET
 * (state.h). Its instances are modules in every respect (repr, pickling of their functions
 * by name, the import system's attributes); the type is a heap type of the interpreter. */
static int module_object_traverse(PyObject *module, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(module));
    return PyModule_Type.tp_traverse(module, visit, arg);
}

static void module_object_dealloc(PyObject *module)
{
    PyTypeObject *type = Py_TYPE(module);
    PyModule_Type.tp_dealloc(module); /* m_free runs there, with the state still in place */
    Py_DECREF(type);
}

static PyType_Slot module_object_slots[] = {
    {Py_tp_traverse, module_object_traverse},
    {Py_tp_dealloc, module_object_dealloc},
    {0, NULL},
};

/* Py_mod_create: the module object, an instance of a new module_object type, its state
 * zeroed by the allocation. */
static PyObject *module_create(PyObject *spec, PyModuleDef *def)
{
    (void)def;
    if (PyModule_Type.tp_basicsize > COPIUM_MODULE_STATE_OFFSET) {
        PyErr_Format(PyExc_ImportError,
                     "copium._copium: this CPython's module objects take %zd bytes, more than "
                     "the %d copium was built to make room for",
                     PyModule_Type.tp_basicsize, COPIUM_MODULE_STATE_OFFSET);
        return NULL;
    }
    PyType_Spec type_spec = {
        .name = "copium._copium.ModuleWithState",
        .basicsize = COPIUM_MODULE_STATE_OFFSET + (int)sizeof(copium_module_state),
        .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
        .slots = module_object_slots,
    };
    PyObject *type = PyType_FromSpecWithBases(&type_spec, (PyObject *)&PyModule_Type);
    if (type == NULL)
        return NULL;
    PyObject *name = PyObject_GetAttrString(spec, "name");
    PyObject *module = name != NULL ? PyObject_CallOneArg(type, name) : NULL;
    Py_XDECREF(name);
    Py_DECREF(type); /* the module holds its type */
    return module;
}

/* Py_mod_exec: fill the state (zeroed by module_create) and the module's attributes. */
static int module_exec(PyObject *module)
{
    copium_module_state *st = copium_module_state_of(module);
#ifdef COPIUM_PATCH_VECTORCALL
    st->patch.deepcopy_nparams = 2;
#endif
    PyObject *copy_module = PyImport_ImportModule("copy");
    if (copy_module == NULL)
        return -1;
    st->error_type = PyObject_GetAttrString(copy_module, "Error");
    Py_DECREF(copy_module);
    if (st->error_type == NULL)
        return -1;
    /* copium.__version__ (python/copium/__init__.py takes it from here). */
    if (PyModule_AddStringConstant(module, "__version__", COPIUM_VERSION) < 0)
        return -1;
    if (PyModule_AddObjectRef(module, "Error", st->error_type) < 0 ||
        PyModule_AddObjectRef(module, "error", st->error_type) < 0)
        return -1;
    if (copium_handlers_install(&st->proto, &st->core) < 0)
        return -1;
    st->batch = copium_batch_init(module, &st->proto);
    if (st->batch == NULL)
        return -1;
    if (copium_capi_add(module) < 0)
        return -1;
    return 0;
}

/* Multi-phase initialisation (PEP 489): all mutable state is in the module's state, so each
 * interpreter, with a GIL of its own too (3.12+), imports a copium of its own. Py_mod_gil is
 * left at its default (the GIL used): free-threaded builds are not declared supported. */
static PyModuleDef_Slot module_slots[] = {
    {Py_mod_create, module_create},
    {Py_mod_exec, module_exec},
#ifdef Py_mod_multiple_interpreters
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
    {0, NULL},
};

static struct PyModuleDef copium_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "copium._copium",
    .m_doc = "copium's engine: fast deepcopy and copy with stdlib semantics.",
    .m_size = 0, /* the state is in the module object (module_create) */
    .m_methods = module_methods,
    .m_slots = module_slots,
    .m_traverse = module_traverse,
    .m_clear = module_clear,
    .m_free = module_free,
};

PyMODINIT_FUNC PyInit__copium(void)
{
    return PyModuleDef_Init(&copium_module);
}
