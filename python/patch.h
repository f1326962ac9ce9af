/* Patching the standard library's copy.deepcopy and copy.copy in place (copium.patch): the C
 * side, where the interpreter lets a function object's vectorcall be replaced. */
#ifndef COPIUM_PATCH_H
#define COPIUM_PATCH_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* CPython 3.12+ has PyFunction_SetVectorcall. 3.10 has none, but calls a Python function only
 * through its vectorcall field, so setting the field does the same. 3.11 inlines calls of
 * Python functions in its eval loop without looking at that field: copium/patch.py swaps the
 * function's __code__ instead. */
#if PY_VERSION_HEX >= 0x030C0000 || PY_VERSION_HEX < 0x030B0000
#define COPIUM_PATCH_VECTORCALL 1
#endif

#ifdef COPIUM_PATCH_VECTORCALL
/* The patch's state (per interpreter: the functions are that interpreter's copy module's). */
typedef struct {
    PyFunctionObject *func; /* strong reference while patched */
    vectorcallfunc saved;
} copium_patched_function;

typedef struct {
    copium_patched_function deepcopy, copy;
    /* The number of deepcopy's positional parameters (x, memo, and _nil before 3.15). */
    Py_ssize_t deepcopy_nparams;
} copium_patch_state;

/* copium._copium._patch_vectorcall(deepcopy_function, copy_function) -> bool: route calls of
 * both function objects to copium; False when they already were. */
PyObject *copium_py_patch_vectorcall(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
/* _unpatch_vectorcall() -> bool: give both functions back the vectorcall they had. */
PyObject *copium_py_unpatch_vectorcall(PyObject *module, PyObject *unused);
/* _vectorcall_patched() -> bool */
PyObject *copium_py_vectorcall_patched(PyObject *module, PyObject *unused);
/* Forget the patch at module finalisation (functions restored). */
void copium_patch_fini(copium_patch_state *st);
#endif

#endif
