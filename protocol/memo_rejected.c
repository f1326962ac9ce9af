/* A __deepcopy__ that rejects its memo (see memo_rejected.h). */
#include "memo_rejected.h"

#include "../core/compat.h"
#include "../core/pymemo.h"

#include <string.h>

static void free_entries(char **entries, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++)
        PyMem_Free(entries[i]);
    PyMem_Free(entries);
}

int copium_memo_rejected_set(copium_memo_rejected_config *config, copium_memo_rejected_mode mode,
                             PyObject *suppressed)
{
    if (!PyTuple_Check(suppressed)) {
        PyErr_SetString(PyExc_TypeError, "suppressed entries must be a tuple of str");
        return -1;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(suppressed);
    char **entries = NULL;
    if (n > 0) {
        entries = PyMem_Calloc((size_t)n, sizeof(char *));
        if (entries == NULL) {
            PyErr_NoMemory();
            return -1;
        }
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t size;
        const char *utf8 = PyUnicode_Check(PyTuple_GET_ITEM(suppressed, i))
                               ? PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(suppressed, i), &size)
                               : NULL;
        if (utf8 == NULL) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "suppressed entries must be a tuple of str");
            free_entries(entries, n);
            return -1;
        }
        entries[i] = PyMem_Malloc((size_t)size + 1);
        if (entries[i] == NULL) {
            PyErr_NoMemory();
            free_entries(entries, n);
            return -1;
        }
        memcpy(entries[i], utf8, (size_t)size + 1);
    }
    char **old = config->suppressed;
    Py_ssize_t nold = config->nsuppressed;
    config->suppressed = entries;
    config->nsuppressed = n;
    config->mode = mode;
    free_entries(old, nold);
    return 0;
}

PyObject *copium_memo_rejected_suppressed(const copium_memo_rejected_config *config)
{
    Py_ssize_t n = config->nsuppressed;
    PyObject *result = PyTuple_New(n);
    for (Py_ssize_t i = 0; result != NULL && i < n; i++) {
        PyObject *entry = PyUnicode_FromString(config->suppressed[i]);
        if (entry == NULL)
            Py_CLEAR(result);
        else
            PyTuple_SET_ITEM(result, i, entry);
    }
    return result;
}

void copium_memo_rejected_clear(copium_memo_rejected_config *config)
{
    free_entries(config->suppressed, config->nsuppressed);
    config->suppressed = NULL;
    config->nsuppressed = 0;
    config->mode = COPIUM_MEMO_REJECTED_RAISE;
}

/* type.__name__ without running code: tp_name after its last dot. */
static const char *type_name(PyTypeObject *tp)
{
    const char *dot = strrchr(tp->tp_name, '.');
    return dot ? dot + 1 : tp->tp_name;
}

/* Is the warning for error suppressed: is "ExcType: message" or the message alone (as copium
 * 0.1.0 matched them) an entry of suppress_warnings? 1, 0, or -1 with an error. The strings
 * are made first: str(error) may run Python code, which may change the setting. */
static int suppressed(const copium_memo_rejected_config *config, PyObject *error)
{
    if (config->nsuppressed == 0)
        return 0;
    PyObject *message = PyObject_Str(error);
    if (message == NULL)
        return -1;
    PyObject *full = PyUnicode_FromFormat("%s: %U", type_name(Py_TYPE(error)), message);
    const char *m = full ? PyUnicode_AsUTF8(message) : NULL;
    const char *f = m ? PyUnicode_AsUTF8(full) : NULL;
    int found = f == NULL ? -1 : 0;
    for (Py_ssize_t i = 0; found == 0 && i < config->nsuppressed; i++) {
        const char *entry = config->suppressed[i];
        found = strcmp(entry, f) == 0 || strcmp(entry, m) == 0;
    }
    Py_XDECREF(full);
    Py_DECREF(message);
    return found;
}

/* memo[key] = value for every entry of copy that memo does not already map to the same object,
 * but the keep-alive entry copy has under its own id; then copy itself appended to memo's
 * keep-alive list (memo[id(memo)]), as stdlib's _keep_alive would, so that everything the
 * retry kept alive stays alive. 0, or -1 with an error. */
static int merge_back(PyObject *memo, PyObject *copy)
{
    PyObject *own_key = PyLong_FromVoidPtr(copy);
    if (own_key == NULL)
        return -1;
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    int rc = 0;
    while (rc == 0 && PyDict_Next(copy, &pos, &key, &value)) {
        int same = PyObject_RichCompareBool(key, own_key, Py_EQ);
        if (same != 0) {
            rc = same < 0 ? -1 : 0;
            continue;
        }
        Py_INCREF(key);
        Py_INCREF(value);
        PyObject *old = PyObject_GetItem(memo, key);
        if (old == NULL && PyErr_ExceptionMatches(PyExc_KeyError))
            PyErr_Clear();
        if (old == NULL && PyErr_Occurred())
            rc = -1;
        else if (old != value)
            rc = PyObject_SetItem(memo, key, value);
        Py_XDECREF(old);
        Py_DECREF(key);
        Py_DECREF(value);
    }
    Py_DECREF(own_key);
    if (rc < 0)
        return -1;
    return copium_pymemo_keep_alive(memo, copy); /* _keep_alive(copy, memo) */
}

PyObject *copium_call_deepcopy_method(const copium_memo_rejected_config *config, PyObject *copier,
                                      PyObject *memo)
{
    PyObject *y = PyObject_CallOneArg(copier, memo);
    copium_memo_rejected_mode mode = config->mode;
    if (y != NULL || mode == COPIUM_MEMO_REJECTED_RAISE || PyDict_CheckExact(memo) ||
        !PyErr_ExceptionMatches(PyExc_TypeError))
        return y;
    PyObject *value = copium_err_take(); /* the rejection, its traceback on it */
    PyObject *copy = PyDict_New();
    if (copy == NULL || PyDict_Merge(copy, memo, 1) < 0)
        goto fail;
    int quiet = mode == COPIUM_MEMO_REJECTED_SILENT ? 1 : suppressed(config, value);
    if (quiet < 0)
        goto fail;
    if (!quiet &&
        PyErr_WarnFormat(PyExc_RuntimeWarning, 1,
                         "%R rejected the memo it was given (a %.200s) with "
                         "%.200s: %S; calling it again with a dict copy of the memo "
                         "(copium.config on_incompatible='warn'; 'silent', or "
                         "suppress_warnings, hides this warning)",
                         copier, Py_TYPE(memo)->tp_name, type_name(Py_TYPE(value)), value) < 0)
        goto fail;
    y = PyObject_CallOneArg(copier, copy);
    if (y == NULL)
        goto fail;
    if (merge_back(memo, copy) < 0) {
        Py_CLEAR(y);
        goto fail;
    }
    Py_DECREF(copy);
    Py_XDECREF(value);
    return y;
fail:
    Py_XDECREF(copy);
    /* The new error, with the rejection as its context. */
    if (value != NULL) {
        PyObject *v2 = copium_err_take();
        if (v2 != NULL && v2 != value)
            PyException_SetContext(v2, Py_NewRef(value));
        copium_err_give(v2);
    }
    Py_XDECREF(value);
    return NULL;
}
