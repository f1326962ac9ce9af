/* Errors that name the culprit (see culprit.h): the diagnosis of a failed protocol step from
 * the types of what it used, and the copy.Error attached as the exception's __cause__. Only
 * ever runs on an error path. */
#include "culprit.h"

#include <string.h>

#include "../core/compat.h"
#include "../core/engine.h"
#include "state.h"

/* ---- names, made without running Python code --------------------------------------------- */

/* type.__qualname__: a heap type's own, else tp_name after its last dot. New reference. */
static PyObject *type_qualname(PyTypeObject *tp)
{
    if (PyType_HasFeature(tp, Py_TPFLAGS_HEAPTYPE)) {
        PyObject *q = ((PyHeapTypeObject *)tp)->ht_qualname;
        if (q != NULL && PyUnicode_Check(q))
            return Py_NewRef(q);
    }
    const char *dot = strrchr(tp->tp_name, '.');
    return PyUnicode_FromString(dot ? dot + 1 : tp->tp_name);
}

/* The name of a callable for a message: a class's or a function's qualified name, else
 * "a <type> object". New reference. */
static PyObject *callable_name(PyObject *f)
{
    if (PyType_Check(f))
        return type_qualname((PyTypeObject *)f);
    if (PyFunction_Check(f)) {
        PyObject *q = ((PyFunctionObject *)f)->func_qualname;
        if (q != NULL && PyUnicode_Check(q))
            return Py_NewRef(q);
    }
    if (PyCFunction_Check(f))
        return PyUnicode_FromString(((PyCFunctionObject *)f)->m_ml->ml_name);
    PyObject *t = type_qualname(Py_TYPE(f));
    if (t == NULL)
        return NULL;
    PyObject *name = PyUnicode_FromFormat("a %U object", t);
    Py_DECREF(t);
    return name;
}

/* "an int", "a list": what a part turned out to be. */
static PyObject *a_type(PyObject *obj)
{
    PyObject *t = type_qualname(Py_TYPE(obj));
    if (t == NULL)
        return NULL;
    const char *article = "a";
    if (PyUnicode_GET_LENGTH(t) > 0 && strchr("aeiouAEIOU", PyUnicode_READ_CHAR(t, 0)))
        article = "an";
    PyObject *s = PyUnicode_FromFormat("%s %U", article, t);
    Py_DECREF(t);
    return s;
}

/* What made x's reduce value, as stdlib's lookup order finds it (from the type: a change made
 * to the instance is not seen here): "copyreg.dispatch_table[Foo] (reduce_foo)",
 * "Foo.__reduce_ex__(4)", "Foo.__reduce__()", or "object.__reduce_ex__(4) of Foo", the default
 * reduce, whose state is "Foo.__getstate__()" when Foo has one of its own (*getstate set). */
static PyObject *reduce_source(copium_protocol *P, PyObject *x, int want_state, int *getstate)
{
    PyTypeObject *tp = Py_TYPE(x);
    PyObject *cls = type_qualname(tp), *result = NULL;
    *getstate = 0;
    if (cls == NULL)
        return NULL;
    PyObject *table = P->stdlib.dispatch_table;
    if (table != NULL && PyDict_CheckExact(table) && Py_TYPE(tp) == &PyType_Type) {
        PyObject *entry = PyDict_GetItemWithError(table, (PyObject *)tp);
        if (entry != NULL && entry != Py_None) {
            PyObject *name = callable_name(entry);
            if (name != NULL)
                result = PyUnicode_FromFormat("copyreg.dispatch_table[%U] (%U)", cls, name);
            Py_XDECREF(name);
            Py_DECREF(cls);
            return result;
        }
        PyErr_Clear();
    }
    PyObject *reduce_ex = copium_type_lookup(tp, P->names.reduce_ex);
    PyObject *reduce = copium_type_lookup(tp, P->names.reduce);
    if (reduce_ex == NULL || reduce_ex == Py_None) {
        result = PyUnicode_FromFormat("%U.__reduce__()", cls);
    } else if (reduce_ex != P->stdlib.object_reduce_ex) {
        result = PyUnicode_FromFormat("%U.__reduce_ex__(4)", cls);
    } else if (reduce != P->stdlib.object_reduce) {
        /* object.__reduce_ex__ calls an overridden __reduce__ */
        result = PyUnicode_FromFormat("%U.__reduce__()", cls);
    } else {
        PyObject *gs = want_state ? copium_type_lookup(tp, P->names.getstate) : NULL;
        if (gs != NULL && gs != P->stdlib.object_getstate) {
            *getstate = 1;
            result = PyUnicode_FromFormat("%U.__getstate__()", cls);
        } else {
            result = PyUnicode_FromFormat("object.__reduce_ex__(4) of %U", cls);
        }
    }
    Py_DECREF(cls);
    return result;
}

/* "the <label> (<item>) from <source>" ("the <label> from Foo.__getstate__()": that state is
 * not an item of anything the class returned). */
static PyObject *part_from(copium_protocol *P, const char *label, const char *item, PyObject *x,
                           int is_state)
{
    int getstate;
    PyObject *source = reduce_source(P, x, is_state, &getstate);
    if (source == NULL)
        return NULL;
    PyObject *s = getstate ? PyUnicode_FromFormat("the %s from %U", label, source)
                           : PyUnicode_FromFormat("the %s (%s) from %U", label, item, source);
    Py_DECREF(source);
    return s;
}

/* Would iter(obj) fail for obj's type (the check `*obj` and a for loop make)? */
static int not_iterable(PyObject *obj)
{
    return Py_TYPE(obj)->tp_iter == NULL && !PySequence_Check(obj);
}

/* Does obj's type look like a mapping to dict.update (a keys method)? 1, 0, or -1. */
static int has_keys(PyObject *obj)
{
    if (PyDict_Check(obj))
        return 1;
    PyObject *keys = PyUnicode_FromString("keys");
    if (keys == NULL)
        return -1;
    int found = copium_type_lookup(Py_TYPE(obj), keys) != NULL;
    Py_DECREF(keys);
    return found;
}

/* ---- the diagnosis ------------------------------------------------------------------------ */

static PyObject *diagnose_callable(copium_protocol *P, PyObject *x, PyObject *func,
                                   PyObject *callargs, int raised_here)
{
    PyObject *part = NULL, *message = NULL, *got = NULL;
    if (!PyCallable_Check(func)) {
        part = part_from(P, "callable", "item 0", x, 0);
        got = a_type(func);
        if (part != NULL && got != NULL)
            message = PyUnicode_FromFormat("%U is not callable: got %U", part, got);
        goto done;
    }
    if (callargs == NULL || !PyTuple_Check(callargs))
        return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(callargs);
    if (func == P->stdlib.orig_newobj && func != NULL) {
        if (n > 0 && PyType_Check(PyTuple_GET_ITEM(callargs, 0)))
            goto other;
        part = part_from(P, "callable", "item 0", x, 0);
        if (n == 0) {
            got = PyUnicode_FromString("are empty");
        } else {
            PyObject *t = a_type(PyTuple_GET_ITEM(callargs, 0));
            got = t ? PyUnicode_FromFormat("start with %U", t) : NULL;
            Py_XDECREF(t);
        }
        if (part != NULL && got != NULL)
            message = PyUnicode_FromFormat("copyreg.__newobj__, %U, needs the class to create as "
                                           "its first argument: the arguments (item 1) %U",
                                           part, got);
        goto done;
    }
    if (func == P->stdlib.newobj_ex && func != NULL) {
        /* copyreg.__newobj_ex__(cls, args, kwargs): cls.__new__(cls, *args, **kwargs) */
        const char *what = NULL;
        PyObject *bad = NULL;
        if (n != 3) {
            got = PyUnicode_FromFormat("are %zd item%s", n, n == 1 ? "" : "s");
        } else if (!PyType_Check(PyTuple_GET_ITEM(callargs, 0))) {
            what = "start with %U, not a class";
            bad = PyTuple_GET_ITEM(callargs, 0);
        } else if (not_iterable(PyTuple_GET_ITEM(callargs, 1))) {
            what = "have %U as args, not a tuple";
            bad = PyTuple_GET_ITEM(callargs, 1);
        } else if (has_keys(PyTuple_GET_ITEM(callargs, 2)) == 0) {
            what = "have %U as kwargs, not a dict";
            bad = PyTuple_GET_ITEM(callargs, 2);
        } else {
            goto other;
        }
        if (bad != NULL) {
            PyObject *t = a_type(bad);
            got = t ? PyUnicode_FromFormat(what, t) : NULL;
            Py_XDECREF(t);
        }
        part = part_from(P, "callable", "item 0", x, 0);
        if (part != NULL && got != NULL)
            message = PyUnicode_FromFormat("copyreg.__newobj_ex__, %U, takes (cls, args, "
                                           "kwargs): the arguments (item 1) %U",
                                           part, got);
        goto done;
    }
other:
    /* The callable itself (C code: no traceback) refused the arguments it was given. */
    if (!raised_here)
        return NULL;
    {
        PyObject *name = callable_name(func);
        part = part_from(P, "callable", "item 0", x, 0);
        if (name != NULL && part != NULL)
            message = PyUnicode_FromFormat("calling %U, %U, with the arguments (item 1, %zd "
                                           "item%s) failed",
                                           name, part, n, n == 1 ? "" : "s");
        Py_XDECREF(name);
    }
done:
    Py_XDECREF(part);
    Py_XDECREF(got);
    return message;
}

/* "<part> must be <expected>, got <a type>" */
static PyObject *must_be(copium_protocol *P, const char *label, const char *item, PyObject *x,
                         int is_state, const char *expected, PyObject *obj)
{
    PyObject *part = part_from(P, label, item, x, is_state), *got = a_type(obj), *message = NULL;
    if (part != NULL && got != NULL)
        message = PyUnicode_FromFormat("%U must be %s; got %U", part, expected, got);
    Py_XDECREF(part);
    Py_XDECREF(got);
    return message;
}

static PyObject *diagnose(copium_protocol *P, copium_part part, PyObject *x, int deep, PyObject *y,
                          PyObject *what, PyObject *other, int raised_here)
{
    (void)deep;
    PyObject *message = NULL, *s1 = NULL, *s2 = NULL;
    switch (part) {
    case COPIUM_PART_VALUE: {
        int getstate;
        PyObject *source = reduce_source(P, x, 0, &getstate);
        if (source == NULL)
            return NULL;
        if (not_iterable(what)) {
            s1 = a_type(what);
            if (s1 != NULL)
                message = PyUnicode_FromFormat(
                    "%U returned %U: a reduce value must be a str or a tuple (callable, "
                    "args[, state[, listitems[, dictitems]]])",
                    source, s1);
        } else if (other != NULL && PyTuple_Check(other)) {
            Py_ssize_t n = PyTuple_GET_SIZE(other);
            s1 = a_type(what);
            if (s1 != NULL && (n < 2 || n > 5))
                message = PyUnicode_FromFormat(
                    "%U returned %U of %zd item%s: a reduce value has 2 to 5 items (callable, "
                    "args[, state[, listitems[, dictitems]]])",
                    source, s1, n, n == 1 ? "" : "s");
        }
        Py_DECREF(source);
        break;
    }
    case COPIUM_PART_CALLABLE:
        return diagnose_callable(P, x, what, other, raised_here);
    case COPIUM_PART_ARGS:
        if (not_iterable(what))
            message = must_be(P, "arguments", "item 1", x, 0, "a tuple", what);
        break;
    case COPIUM_PART_SETSTATE:
        if (y == NULL)
            break;
        s2 = type_qualname(Py_TYPE(y));
        if (s2 == NULL)
            break;
        if (other != NULL && !PyCallable_Check(other)) {
            s1 = a_type(other);
            if (s1 != NULL)
                message = PyUnicode_FromFormat("%U.__setstate__ is not callable: got %U", s2, s1);
        } else if (raised_here) {
            /* A __setstate__ in C, or a Python one that does not take one argument. */
            PyObject *p = part_from(P, "state", "item 2", x, 1);
            s1 = p ? a_type(what) : NULL;
            if (s1 != NULL)
                message = PyUnicode_FromFormat("%U.__setstate__ rejected %U (%U)", s2, p, s1);
            Py_XDECREF(p);
        }
        break;
    case COPIUM_PART_DICTSTATE:
    case COPIUM_PART_DICTSTATE_OF: {
        int of = part == COPIUM_PART_DICTSTATE_OF;
        const char *label = of ? "dict state" : "state";
        const char *item = of ? "item 0 of the state" : "item 2";
        PyTypeObject *ytp = y ? Py_TYPE(y) : NULL;
        if (ytp != NULL && ytp->tp_dictoffset == 0 &&
            copium_type_lookup(ytp, P->names.dict) == NULL) {
            PyObject *p = part_from(P, label, item, x, 1);
            s1 = p ? type_qualname(ytp) : NULL;
            if (s1 != NULL)
                message = PyUnicode_FromFormat(
                    "%U is a dict state, but %U objects have no __dict__: give %U a "
                    "__setstate__, or make the state (None, {slot: value})",
                    p, s1, s1);
            Py_XDECREF(p);
        } else if (raised_here && has_keys(what) == 0) {
            message = must_be(P, label, item, x, 1,
                              of ? "None or a dict or mapping of attribute names to values"
                                 : "None, a dict or mapping of attribute names to values, or a "
                                   "(dict state, slot state) pair",
                              what);
        }
        break;
    }
    case COPIUM_PART_SLOTSTATE:
        if (what != NULL && !PyDict_Check(what)) {
            if (raised_here)
                message = must_be(P, "slot state", "item 1 of the state", x, 1,
                                  "None or a dict or mapping of attribute names to values", what);
        } else if (raised_here && y != NULL) {
            PyObject *p = part_from(P, "slot state", "item 1 of the state", x, 1);
            s1 = p ? type_qualname(Py_TYPE(y)) : NULL;
            if (s1 != NULL)
                message = PyUnicode_FromFormat(
                    "setting the attributes in %U on the new %U object failed", p, s1);
            Py_XDECREF(p);
        }
        break;
    case COPIUM_PART_LISTITEMS:
        if (not_iterable(what))
            message = must_be(P, "list items", "item 3", x, 0, "None or an iterator", what);
        break;
    case COPIUM_PART_APPEND:
    case COPIUM_PART_SETITEM: {
        if (y == NULL)
            break;
        int append = part == COPIUM_PART_APPEND;
        PyObject *p = append ? part_from(P, "list items", "item 3", x, 0)
                             : part_from(P, "dict items", "item 4", x, 0);
        s1 = p ? type_qualname(Py_TYPE(y)) : NULL;
        if (s1 == NULL) {
            Py_XDECREF(p);
            break;
        }
        PyMappingMethods *mp = Py_TYPE(y)->tp_as_mapping;
        if (append && copium_type_lookup(Py_TYPE(y), P->names.append) == NULL)
            message = PyUnicode_FromFormat(
                "%U are added with append(), which the new %U object does not have", p, s1);
        else if (!append && (mp == NULL || mp->mp_ass_subscript == NULL))
            message = PyUnicode_FromFormat("%U are stored with y[key] = value, which the new %U "
                                           "object does not support",
                                           p, s1);
        else if (raised_here)
            message = PyUnicode_FromFormat("the new %U object refused an item of %U", s1, p);
        Py_DECREF(p);
        break;
    }
    case COPIUM_PART_DICTITEMS:
        if (not_iterable(what))
            message = must_be(P, "dict items", "item 4", x, 0,
                              "None or an iterator of (key, value) pairs", what);
        break;
    case COPIUM_PART_DICTITEM_PAIR: {
        if (!raised_here && !not_iterable(what))
            break; /* an item's own __iter__ / __next__ raised */
        PyObject *p = part_from(P, "dict items", "item 4", x, 0);
        if (p == NULL)
            break;
        if (PyTuple_Check(what) || PyList_Check(what))
            s1 = PyUnicode_FromFormat("a %s of %zd item%s", PyTuple_Check(what) ? "tuple" : "list",
                                      PySequence_Fast_GET_SIZE(what),
                                      PySequence_Fast_GET_SIZE(what) == 1 ? "" : "s");
        else
            s1 = a_type(what);
        if (s1 != NULL)
            message = PyUnicode_FromFormat("each of %U must be a (key, value) pair; got %U", p, s1);
        Py_DECREF(p);
        break;
    }
    case COPIUM_PART_TABLE:
    case COPIUM_PART_REDUCE_EX:
    case COPIUM_PART_REDUCE: {
        if (what == NULL || PyCallable_Check(what))
            break;
        s1 = type_qualname(Py_TYPE(x));
        s2 = s1 ? a_type(what) : NULL;
        if (s2 == NULL)
            break;
        if (part == COPIUM_PART_TABLE)
            message =
                PyUnicode_FromFormat("copyreg.dispatch_table[%U] is not callable: got %U", s1, s2);
        else
            message = PyUnicode_FromFormat(
                "%U.%s is not callable: got %U", s1,
                part == COPIUM_PART_REDUCE ? "__reduce__" : "__reduce_ex__", s2);
        break;
    }
    }
    Py_XDECREF(s1);
    Py_XDECREF(s2);
    return message;
}

/* ---- the cause ---------------------------------------------------------------------------- */

/* The raised exception, taken out of the thread state (its traceback on it), and raised
 * again: core/compat.h's shim of 3.12's exception API. */
#define take_exception copium_err_take
#define raise_again    copium_err_give

void copium_culprit(copium_part part, PyObject *x, int deep, PyObject *y, PyObject *what,
                    PyObject *other)
{
    copium_protocol *P = copium_proto_current();
    if (!PyErr_Occurred() || P->stdlib.orig_error == NULL || x == NULL)
        return;
    PyObject *exc = take_exception();
    if (exc == NULL)
        return;
    PyObject *cause = PyException_GetCause(exc);
    int leave = cause != NULL || ((PyBaseExceptionObject *)exc)->suppress_context ||
                !(PyErr_GivenExceptionMatches(exc, PyExc_TypeError) ||
                  PyErr_GivenExceptionMatches(exc, PyExc_ValueError) ||
                  PyErr_GivenExceptionMatches(exc, PyExc_AttributeError));
    Py_XDECREF(cause);
    if (!leave) {
        PyObject *tb = PyException_GetTraceback(exc);
        int raised_here = tb == NULL;
        Py_XDECREF(tb);
        PyObject *message = diagnose(P, part, x, deep, y, what, other, raised_here);
        cause = message ? PyObject_CallOneArg(P->stdlib.orig_error, message) : NULL;
        Py_XDECREF(message);
        if (cause != NULL && PyExceptionInstance_Check(cause)) {
            /* The cause comes after whatever was being handled when the error was raised:
             * the traceback shows that too, as it shows stdlib's context. */
            PyObject *context = PyException_GetContext(exc);
            if (context != NULL)
                PyException_SetContext(cause, context);
            PyException_SetCause(exc, cause); /* steals cause */
        } else {
            Py_XDECREF(cause);
        }
        PyErr_Clear(); /* a failed diagnosis leaves the exception without a cause */
    }
    raise_again(exc);
}
