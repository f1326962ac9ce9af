/* What every cmocka test binary of copium shares: CPython embedded in the process (started in
 * the group setup, finalized in the group teardown, so each binary runs one interpreter for all
 * its tests), the include order cmocka needs after Python.h, and small helpers that run Python
 * source in one __main__ namespace so tests can build real objects (classes, instances, graphs)
 * the way a user would. Everything is static inline, so each file uses what it needs. */
#ifndef COPIUM_TEST_EMBED_H
#define COPIUM_TEST_EMBED_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

/* The __main__ namespace of the embedded interpreter (borrowed; lives until finalization). */
static PyObject *embed_globals;

/* Print and clear a pending Python exception, then fail the current test. */
#define assert_no_pyerr()                                                                          \
    do {                                                                                           \
        if (PyErr_Occurred()) {                                                                    \
            PyErr_Print();                                                                         \
            fail_msg("unexpected Python exception");                                               \
        }                                                                                          \
    } while (0)

/* Assert that the pending exception is an instance of exc, and clear it. */
#define assert_pyerr(exc)                                                                          \
    do {                                                                                           \
        assert_non_null(PyErr_Occurred());                                                         \
        if (!PyErr_ExceptionMatches(exc)) {                                                        \
            PyErr_Print();                                                                         \
            fail_msg("wrong exception type, expected %s", ((PyTypeObject *)(exc))->tp_name);       \
        }                                                                                          \
        PyErr_Clear();                                                                             \
    } while (0)

static inline int embed_setup(void **state)
{
    (void)state;
    Py_Initialize();
    PyObject *main_module = PyImport_AddModule("__main__"); /* borrowed */
    if (main_module == NULL) {
        PyErr_Print();
        return -1;
    }
    embed_globals = PyModule_GetDict(main_module); /* borrowed */
    return 0;
}

static inline int embed_teardown(void **state)
{
    (void)state;
    embed_globals = NULL;
    return Py_FinalizeEx() == 0 ? 0 : -1;
}

/* Run statements in __main__; fails the test if they raise. */
/* A test that failed half-way may have left an exception set: report it and start clean. */
static inline void clear_leftover_error(void)
{
    if (PyErr_Occurred()) {
        print_message("(an exception left pending by an earlier failure:)\n");
        PyErr_Print();
    }
}

static inline void run_exec(const char *code)
{
    clear_leftover_error();
    PyObject *r = PyRun_String(code, Py_file_input, embed_globals, embed_globals);
    if (r == NULL) {
        PyErr_Print();
        fail_msg("Python code raised:\n%s", code);
    }
    Py_DECREF(r);
}

/* Evaluate an expression in __main__: a new reference (never NULL: fails the test instead). */
static inline PyObject *run_eval(const char *expr)
{
    clear_leftover_error();
    PyObject *r = PyRun_String(expr, Py_eval_input, embed_globals, embed_globals);
    if (r == NULL) {
        PyErr_Print();
        fail_msg("Python expression raised: %s", expr);
    }
    return r;
}

/* Evaluate a Python expression that must be true (e.g. a comparison of copies), with the named
 * objects bound in __main__ first. */
static inline void assert_py_true(const char *expr)
{
    PyObject *r = run_eval(expr);
    int truth = PyObject_IsTrue(r);
    Py_DECREF(r);
    if (truth < 0) {
        PyErr_Print();
        fail_msg("truth test raised: %s", expr);
    }
    if (!truth)
        fail_msg("Python expression is false: %s", expr);
}

/* __main__.name = obj (a new reference is taken). */
static inline void bind(const char *name, PyObject *obj)
{
    if (PyDict_SetItemString(embed_globals, name, obj) < 0) {
        PyErr_Print();
        fail_msg("could not bind %s", name);
    }
}

#endif
