/* The fixture of the tests that copy real objects through the whole engine: the embedded
 * interpreter of embed.h plus the builtin handlers installed (copium_handlers_install), and two
 * functions bound in __main__ so that tests can state expectations as Python expressions:
 * cdeepcopy(x, memo=None) and ccopy(x) call copium_deepcopy / copium_copy exactly as the module
 * glue does (copium_handlers_sync first), `copy` is the stdlib module to compare with, and
 * outcome() runs a copy of a container that changes while it is copied. */
#ifndef COPIUM_TEST_ENGINE_FIXTURE_H
#define COPIUM_TEST_ENGINE_FIXTURE_H

#include "embed.h"

#include "../../core/engine.h"
#include "../../handlers/handlers.h"
#include "../../protocol/install.h"
#include "../../protocol/stdlib.h"

/* The states a module would hold (one interpreter's). */
static copium_core fixture_core;
static copium_protocol fixture_proto;

static PyObject *fixture_deepcopy(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *x, *memo = NULL;
    if (!PyArg_ParseTuple(args, "O|O:cdeepcopy", &x, &memo))
        return NULL;
    if (copium_handlers_sync(&fixture_proto) < 0)
        return NULL;
    return copium_deepcopy(&fixture_core, x, memo);
}

static PyObject *fixture_copy(PyObject *self, PyObject *x)
{
    (void)self;
    if (copium_handlers_sync(&fixture_proto) < 0)
        return NULL;
    return copium_copy(&fixture_core, x);
}

static PyMethodDef fixture_methods[] = {
    {"cdeepcopy", fixture_deepcopy, METH_VARARGS, NULL},
    {"ccopy", fixture_copy, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

/* Python-side helpers. outcome(make, fn) runs fn on a fresh target = make() (a global, so that
 * the __deepcopy__ hooks of its items can change it) and returns what happened, the result or
 * the exception type, and the target afterwards, with every object that is not an int, str,
 * list or dict replaced by its type name: two runs that behaved alike compare equal. */
static const char fixture_python[] = "import copy, gc, sys, weakref\n"
                                     "def _normal(v):\n"
                                     "    if isinstance(v, list):\n"
                                     "        return [_normal(i) for i in v]\n"
                                     "    if isinstance(v, dict):\n"
                                     "        return {k: _normal(i) for k, i in v.items()}\n"
                                     "    if isinstance(v, (int, str, type)):\n"
                                     "        return v\n"
                                     "    return type(v).__name__\n"
                                     "def outcome(make, fn):\n"
                                     "    global target\n"
                                     "    target = make()\n"
                                     "    try:\n"
                                     "        result = fn(target)\n"
                                     "    except Exception as e:\n"
                                     "        result = type(e)\n"
                                     "    return _normal(result), _normal(target)\n";

static inline int engine_setup(void **state)
{
    if (embed_setup(state) < 0)
        return -1;
    if (copium_handlers_install(&fixture_proto, &fixture_core) < 0)
        goto error;
    for (PyMethodDef *m = fixture_methods; m->ml_name != NULL; m++) {
        PyObject *f = PyCFunction_New(m, NULL);
        if (f == NULL || PyDict_SetItemString(embed_globals, m->ml_name, f) < 0) {
            Py_XDECREF(f);
            goto error;
        }
        Py_DECREF(f);
    }
    PyObject *r = PyRun_String(fixture_python, Py_file_input, embed_globals, embed_globals);
    if (r == NULL)
        goto error;
    Py_DECREF(r);
    return 0;
error:
    PyErr_Print();
    return -1;
}

static inline int engine_teardown(void **state)
{
    copium_handlers_fini(&fixture_proto);
    return embed_teardown(state);
}

/* Evaluate expr, which must give a list, tuple or set; fail (showing it) unless it is empty.
 * For checks over many cases at once: the expression collects the ones that went wrong. */
static inline void assert_py_empty(const char *expr)
{
    PyObject *r = run_eval(expr);
    Py_ssize_t n = PyObject_Length(r);
    if (n != 0) {
        PyObject *repr = PyObject_Repr(r);
        const char *text = repr ? PyUnicode_AsUTF8(repr) : NULL;
        print_error("%s\n  gave %s\n", expr, text ? text : "?");
        Py_XDECREF(repr);
        Py_DECREF(r);
        PyErr_Clear();
        fail_msg("expected no failing cases");
    }
    Py_DECREF(r);
}

/* Deep and shallow copies of x, dropped at once, leave the reference counts of x and of every
 * object it refers to (gc.get_referents) exactly as they were. */
static inline void assert_copies_keep_refcounts(PyObject *x)
{
    PyObject *gc = PyImport_ImportModule("gc");
    assert_non_null(gc);
    PyObject *referents = PyObject_CallMethod(gc, "get_referents", "O", x);
    Py_DECREF(gc);
    assert_non_null(referents);
    Py_ssize_t n = PyList_GET_SIZE(referents);
    Py_ssize_t before[64];
    if (n > 64)
        n = 64;
    for (Py_ssize_t i = 0; i < n; i++)
        before[i] = Py_REFCNT(PyList_GET_ITEM(referents, i));
    Py_ssize_t x_before = Py_REFCNT(x);

    for (int round = 0; round < 3; round++) {
        PyObject *deep = copium_deepcopy(&fixture_core, x, NULL);
        assert_no_pyerr();
        assert_non_null(deep);
        Py_DECREF(deep);
        PyObject *shallow = copium_copy(&fixture_core, x);
        assert_no_pyerr();
        assert_non_null(shallow);
        Py_DECREF(shallow);
    }

    assert_int_equal(Py_REFCNT(x), x_before);
    for (Py_ssize_t i = 0; i < n; i++)
        assert_int_equal(Py_REFCNT(PyList_GET_ITEM(referents, i)), before[i]);
    Py_DECREF(referents);
}

#endif
