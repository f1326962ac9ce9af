/* Patching copy.deepcopy and copy.copy through their vectorcall (see patch.h). The function
 * objects stay what they are (identity, __code__, __defaults__, __dict__, signature): only the
 * C function the interpreter calls to run them changes, to one that parses the arguments as
 * the Python function would and runs copium's engine with the configured memo kind, the same
 * path copium.deepcopy takes. Unpatching puts back exactly the pointer that was replaced
 * (normally CPython's _PyFunction_Vectorcall; whatever another tool had installed otherwise).
 *
 * Specialisation: from 3.12, PyFunction_SetVectorcall resets the function's version, and the
 * adaptive interpreter neither specialises nor inlines a call of a function whose vectorcall is
 * not _PyFunction_Vectorcall, so every call comes here. 3.10 has no specialisation. */
#include "patch.h"

#ifdef COPIUM_PATCH_VECTORCALL

#include "args.h"
#include "config.h"
#include "state.h"

typedef copium_patched_function patched_function;

/* The names of deepcopy's positional parameters, as the patched function declares them
 * (x, memo, and stdlib's private _nil before 3.15); how many there are is in the state. */
static const char *const deepcopy_names[] = {"x", "memo", "_nil"};

static PyObject *deepcopy_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf,
                                     PyObject *kwnames)
{
    (void)callable;
    /* No closure: the state of the interpreter whose copy module was patched. */
    copium_module_state *st = copium_module_state_current();
    if (st == NULL)
        return PyErr_Format(PyExc_RuntimeError, "copium is not initialised in this interpreter");
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    PyObject *params[3];
    if (kwnames == NULL && nargs == 1)
        return copium_config_deepcopy_fresh(&st->proto, &st->core, args[0]);
    if (kwnames == NULL && nargs == 2)
        return copium_config_deepcopy(&st->proto, args[0], args[1]);
    if (copium_parse_args("deepcopy", args, nargs, kwnames, deepcopy_names,
                          st->patch.deepcopy_nparams, 1, params) < 0)
        return NULL;
    return copium_config_deepcopy(&st->proto, params[0], params[1]); /* _nil: accepted */
}

static PyObject *copy_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf,
                                 PyObject *kwnames)
{
    (void)callable;
    static const char *const names[] = {"x"};
    copium_module_state *st = copium_module_state_current();
    if (st == NULL)
        return PyErr_Format(PyExc_RuntimeError, "copium is not initialised in this interpreter");
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    PyObject *x;
    if (kwnames == NULL && nargs == 1)
        x = args[0];
    else if (copium_parse_args("copy", args, nargs, kwnames, names, 1, 1, &x) < 0)
        return NULL;
    return copium_config_copy(&st->proto, x);
}

static vectorcallfunc get_vectorcall(PyFunctionObject *func)
{
    return func->vectorcall;
}

static void set_vectorcall(PyFunctionObject *func, vectorcallfunc vc)
{
#if PY_VERSION_HEX >= 0x030C0000
    PyFunction_SetVectorcall(func, vc);
#else
    /* 3.10: the field is what PyObject_Vectorcall reads (tp_vectorcall_offset points at it). */
    func->vectorcall = vc;
#endif
}

/* The positional parameters of f's code, checked against what the vectorcall parses. */
static int check_function(PyObject *f, const char *what, Py_ssize_t min_params,
                          Py_ssize_t max_params, Py_ssize_t *nparams)
{
    if (!PyFunction_Check(f)) {
        PyErr_Format(PyExc_TypeError,
                     "copium.patch: %s is not a Python function (it is %R); only the standard "
                     "library's function object can be patched",
                     what, f);
        return -1;
    }
    PyCodeObject *code = (PyCodeObject *)PyFunction_GET_CODE(f);
    if (code->co_argcount < min_params || code->co_argcount > max_params ||
        code->co_kwonlyargcount != 0 || (code->co_flags & (CO_VARARGS | CO_VARKEYWORDS))) {
        PyErr_Format(PyExc_TypeError,
                     "copium.patch: %s has an unexpected signature (%R): not the standard "
                     "library's function",
                     what, f);
        return -1;
    }
    *nparams = code->co_argcount;
    return 0;
}

PyObject *copium_py_patch_vectorcall(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    copium_patch_state *st = &copium_module_state_of(module)->patch;
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError,
                     "_patch_vectorcall() takes 2 positional arguments but %zd were given", nargs);
        return NULL;
    }
    if (st->deepcopy.func != NULL)
        Py_RETURN_FALSE;
    Py_ssize_t nparams, unused;
    if (check_function(args[0], "copy.deepcopy", 1, 3, &nparams) < 0 ||
        check_function(args[1], "copy.copy", 1, 1, &unused) < 0)
        return NULL;
    PyFunctionObject *dc = (PyFunctionObject *)args[0], *c = (PyFunctionObject *)args[1];
    st->deepcopy_nparams = nparams;
    st->deepcopy.func = (PyFunctionObject *)Py_NewRef(dc);
    st->deepcopy.saved = get_vectorcall(dc);
    st->copy.func = (PyFunctionObject *)Py_NewRef(c);
    st->copy.saved = get_vectorcall(c);
    set_vectorcall(dc, deepcopy_vectorcall);
    set_vectorcall(c, copy_vectorcall);
    Py_RETURN_TRUE;
}

static void unpatch(patched_function *p)
{
    if (p->func == NULL)
        return;
    set_vectorcall(p->func, p->saved);
    Py_CLEAR(p->func);
    p->saved = NULL;
}

PyObject *copium_py_unpatch_vectorcall(PyObject *module, PyObject *unused)
{
    copium_patch_state *st = &copium_module_state_of(module)->patch;
    (void)unused;
    if (st->deepcopy.func == NULL)
        Py_RETURN_FALSE;
    unpatch(&st->deepcopy);
    unpatch(&st->copy);
    Py_RETURN_TRUE;
}

PyObject *copium_py_vectorcall_patched(PyObject *module, PyObject *unused)
{
    copium_patch_state *st = &copium_module_state_of(module)->patch;
    (void)unused;
    return PyBool_FromLong(st->deepcopy.func != NULL);
}

void copium_patch_fini(copium_patch_state *st)
{
    unpatch(&st->deepcopy);
    unpatch(&st->copy);
}

#endif

#ifndef COPIUM_PATCH_VECTORCALL
typedef int copium_patch_unused; /* 3.11: nothing here (an empty file is not valid C) */
#endif
