/* Version shims: the few CPython APIs copium needs that are spelled differently (or missing)
 * across the supported versions. Everything here is public API on the newest version; older
 * versions get an equivalent built from what they have. */
#ifndef COPIUM_COMPAT_H
#define COPIUM_COMPAT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Keep a rarely taken path out of its callers (also under LTO), so that their common path
 * does not pay for its registers (CPython's own Py_NO_INLINE exists only from 3.11). */
#if defined(__GNUC__) || defined(__clang__)
#define COPIUM_NOINLINE __attribute__((noinline))
#elif defined(_MSC_VER)
#define COPIUM_NOINLINE __declspec(noinline)
#else
#define COPIUM_NOINLINE
#endif

/* Inline a hot helper into every caller even where LTO's size heuristics would not (with
 * the handlers and protocols in files of their own, it made copium_deepcopy_child one
 * out-of-line function called for every child of every container). */
#if defined(__GNUC__) || defined(__clang__)
#define COPIUM_ALWAYS_INLINE inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#define COPIUM_ALWAYS_INLINE __forceinline
#else
#define COPIUM_ALWAYS_INLINE inline
#endif

/* Attribute lookup that reports "missing" without raising AttributeError (stdlib's
 * getattr(x, name, None) without the cost of creating and discarding an exception).
 * Returns 1 and a new reference in *result, 0 with *result NULL, or -1 with an error set. */
static inline int copium_get_optional_attr(PyObject *obj, PyObject *name, PyObject **result)
{
#if PY_VERSION_HEX >= 0x030D0000
    return PyObject_GetOptionalAttr(obj, name, result);
#else
    return _PyObject_LookupAttr(obj, name, result);
#endif
}

/* Dict lookup returning a strong reference: 1 found, 0 missing, -1 error. */
static inline int copium_dict_get_ref(PyObject *dict, PyObject *key, PyObject **result)
{
#if PY_VERSION_HEX >= 0x030D0000
    return PyDict_GetItemRef(dict, key, result);
#else
    PyObject *item = PyDict_GetItemWithError(dict, key);
    if (item != NULL) {
        *result = Py_NewRef(item);
        return 1;
    }
    *result = NULL;
    return PyErr_Occurred() ? -1 : 0;
#endif
}

/* The pending exception as one object, taken (NULL when there is none), and given back:
 * 3.12's PyErr_GetRaisedException / PyErr_SetRaisedException, and before 3.12 the same built
 * from PyErr_Fetch (normalised, its traceback attached) and PyErr_Restore. give(NULL) leaves
 * no exception set. */
static inline PyObject *copium_err_take(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    return PyErr_GetRaisedException();
#else
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (type == NULL)
        return NULL;
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb != NULL && value != NULL)
        PyException_SetTraceback(value, tb);
    Py_DECREF(type);
    Py_XDECREF(tb);
    return value;
#endif
}

static inline void copium_err_give(PyObject *exc)
{
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(exc);
#else
    if (exc == NULL) {
        PyErr_Clear();
        return;
    }
    PyErr_Restore(Py_NewRef((PyObject *)Py_TYPE(exc)), exc, PyException_GetTraceback(exc));
#endif
}

/* tp's version tag (which any change to tp or its bases resets), 0 while it has none. */
static inline unsigned int copium_type_version(PyTypeObject *tp)
{
#if PY_VERSION_HEX < 0x030D0000 && defined(Py_TPFLAGS_VALID_VERSION_TAG)
    if (!PyType_HasFeature(tp, Py_TPFLAGS_VALID_VERSION_TAG))
        return 0;
#endif
    return tp->tp_version_tag;
}

/* The attribute `name` found on type's MRO, without calling descriptors (borrowed, or NULL;
 * never raises). */
static inline PyObject *copium_type_lookup(PyTypeObject *type, PyObject *name)
{
#if PY_VERSION_HEX < 0x030F0000
    return _PyType_Lookup(type, name);
#else
    /* Walk the MRO by hand where the private lookup may be gone. */
    PyObject *mro = type->tp_mro;
    if (mro == NULL || !PyTuple_Check(mro))
        return NULL;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(mro); i++) {
        PyObject *dict = PyType_GetDict((PyTypeObject *)PyTuple_GET_ITEM(mro, i));
        if (dict == NULL) {
            PyErr_Clear();
            continue;
        }
        PyObject *v = PyDict_GetItemWithError(dict, name); /* owned by the type: stays valid */
        Py_DECREF(dict);
        if (v != NULL)
            return v;
        PyErr_Clear();
    }
    return NULL;
#endif
}

#endif
