/* copium_numpy._native: copium handlers for numpy, written against copium's public header
 * (copium.h) and numpy's C API only.
 *
 * numpy.ndarray (exactly that type; subclasses keep numpy's own __deepcopy__):
 *   - dtypes without Python objects: a copy with numpy's keep-order layout (what
 *     ndarray.__deepcopy__ makes with PyArray_NewCopy(self, NPY_KEEPORDER)). A C- or
 *     F-contiguous array of a builtin fixed-size dtype is copied with one memcpy into a new
 *     array of the same descriptor; everything else goes through PyArray_NewCopy itself.
 *   - dtypes holding objects (object, structured with object fields, object subarrays): the
 *     same keep-order copy, remembered in the memo before the elements are deep-copied through
 *     the engine in memory order (numpy's order), so shared elements stay shared with the rest
 *     of the graph and an array that contains itself copies.
 * numpy scalar types that numpy's __deepcopy__ and __copy__ return unchanged (which ones
 * depends on the numpy version; the Python side finds out at import) get the ATOMIC flag. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <string.h>

#define NPY_NO_DEPRECATED_API NPY_2_0_API_VERSION
#include <numpy/arrayobject.h>

#include <copium.h>

#define NDARRAY_HANDLER_NAME "copium_numpy.ndarray"
#define SCALAR_HANDLER_NAME  "copium_numpy.scalar"

/* Copies at least this large run without the GIL, as numpy's own copies do. */
#define NOGIL_MEMCPY_BYTES ((size_t)1 << 16)

/* ---------------------------------------------------------------------------------------- */
/* Arrays without objects */

/* A builtin fixed-size dtype whose items are plain bytes: copying the bytes copies the items.
 * Excludes objects, user-defined and new-style dtypes (StringDType keeps its strings outside
 * the array buffer) and zero-sized items (numpy widens those when it allocates). */
static int plain_bytes_dtype(PyArray_Descr *descr)
{
    int t = descr->type_num;
    return t >= 0 && t <= NPY_HALF && t != NPY_OBJECT && PyDataType_ELSIZE(descr) > 0 &&
           !PyDataType_REFCHK(descr);
}

/* numpy's keep-order copy of src: C order when src is C-contiguous (or 1-d), F order when it
 * is F-contiguous, else numpy's own stride-sorted layout. Always a new, writeable,
 * data-owning base-class array with src's descriptor. */
static PyObject *keeporder_copy(PyArrayObject *src)
{
    PyArray_Descr *descr = PyArray_DESCR(src);
    int c_contig = PyArray_IS_C_CONTIGUOUS(src);
    if (!plain_bytes_dtype(descr) || !(c_contig || PyArray_IS_F_CONTIGUOUS(src)))
        return PyArray_NewCopy(src, NPY_KEEPORDER);

    Py_INCREF(descr); /* PyArray_NewFromDescr steals it */
    PyObject *copy = PyArray_NewFromDescr(&PyArray_Type, descr, PyArray_NDIM(src),
                                          PyArray_DIMS(src), NULL, NULL, c_contig ? 0 : 1, NULL);
    if (copy == NULL)
        return NULL;
    size_t nbytes = (size_t)PyArray_NBYTES(src);
    if (nbytes >= NOGIL_MEMCPY_BYTES) {
        PyThreadState *saved = PyEval_SaveThread();
        memcpy(PyArray_BYTES((PyArrayObject *)copy), PyArray_BYTES(src), nbytes);
        PyEval_RestoreThread(saved);
    } else if (nbytes > 0) {
        memcpy(PyArray_BYTES((PyArrayObject *)copy), PyArray_BYTES(src), nbytes);
    }
    return copy;
}

/* ---------------------------------------------------------------------------------------- */
/* Arrays holding objects */

/* Byte offsets, within one item, of the object pointers of a dtype, in numpy's order: fields
 * in the order of the dtype's fields dict (titles skipped), recursively. */
typedef struct {
    Py_ssize_t *offsets;
    Py_ssize_t len, cap;
    Py_ssize_t inline_offsets[8];
} offset_list;

static int offsets_push(offset_list *l, Py_ssize_t offset)
{
    if (l->len == l->cap) {
        if (l->cap > PY_SSIZE_T_MAX / 2 / (Py_ssize_t)sizeof(Py_ssize_t)) {
            PyErr_NoMemory();
            return -1;
        }
        Py_ssize_t cap = l->cap * 2;
        Py_ssize_t *grown;
        if (l->offsets == l->inline_offsets) {
            grown = PyMem_New(Py_ssize_t, cap);
            if (grown != NULL)
                memcpy(grown, l->inline_offsets, sizeof(l->inline_offsets));
        } else {
            grown = PyMem_Resize(l->offsets, Py_ssize_t, cap);
        }
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        l->offsets = grown;
        l->cap = cap;
    }
    l->offsets[l->len++] = offset;
    return 0;
}

static int collect_object_offsets(PyArray_Descr *descr, Py_ssize_t base, offset_list *l)
{
    if (!PyDataType_REFCHK(descr))
        return 0;
    if (descr->type_num == NPY_OBJECT)
        return offsets_push(l, base);
    if (PyDataType_HASFIELDS(descr)) {
        PyObject *fields = PyDataType_FIELDS(descr);
        PyObject *key, *value;
        Py_ssize_t pos = 0;
        while (PyDict_Next(fields, &pos, &key, &value)) {
            if (!PyTuple_Check(value) || PyTuple_GET_SIZE(value) < 2)
                goto bad;
            if (PyTuple_GET_SIZE(value) == 3 && PyTuple_GET_ITEM(value, 2) == key)
                continue; /* the entry a field's title adds; the field has its own */
            PyObject *field = PyTuple_GET_ITEM(value, 0);
            if (!PyArray_DescrCheck(field))
                goto bad;
            Py_ssize_t offset = PyLong_AsSsize_t(PyTuple_GET_ITEM(value, 1));
            if (offset == -1 && PyErr_Occurred())
                return -1;
            if (collect_object_offsets((PyArray_Descr *)field, base + offset, l) < 0)
                return -1;
        }
        return 0;
    }
    if (PyDataType_HASSUBARRAY(descr)) {
        /* numpy's __deepcopy__ leaves these shared (it only follows fields and object items);
         * a deep copy copies them, every item of the subarray. */
        PyArray_Descr *item = PyDataType_SUBARRAY(descr)->base;
        Py_ssize_t item_size = (Py_ssize_t)PyDataType_ELSIZE(item);
        Py_ssize_t count = item_size > 0 ? (Py_ssize_t)PyDataType_ELSIZE(descr) / item_size : 0;
        for (Py_ssize_t i = 0; i < count; i++) {
            if (collect_object_offsets(item, base + i * item_size, l) < 0)
                return -1;
        }
        return 0;
    }
    /* Another dtype with references (none of numpy's own): numpy's __deepcopy__ leaves its
     * items as the copy made them, and so does this. */
    return 0;
bad:
    PyErr_SetString(PyExc_SystemError, "copium_numpy: unexpected entry in a dtype's fields");
    return -1;
}

/* The copy under construction can be reached from Python code through the memo while its
 * elements are copied, and reshaped there (ndarray.resize(refcheck=False)): the buffer is
 * looked up again around every element copy, and a copy whose size or dtype changed is an
 * error rather than a write into freed memory. */
typedef struct {
    PyArrayObject *array;
    npy_intp size;
    PyArray_Descr *descr;
} copy_target;

static inline char *target_slot(const copy_target *t, Py_ssize_t byte_offset)
{
    if (PyArray_SIZE(t->array) != t->size || PyArray_DESCR(t->array) != t->descr) {
        PyErr_SetString(PyExc_RuntimeError, "numpy array changed size or dtype during deepcopy");
        return NULL;
    }
    return PyArray_BYTES(t->array) + byte_offset;
}

/* Replace the object pointer (possibly unaligned) at byte_offset by its deep copy. */
static inline int deepcopy_slot(copium_ctx *ctx, const copy_target *t, Py_ssize_t byte_offset)
{
    char *slot = target_slot(t, byte_offset);
    if (slot == NULL)
        return -1;
    PyObject *item;
    memcpy(&item, slot, sizeof(item));
    /* numpy reads a NULL pointer (an uninitialised object array) as None. */
    PyObject *orig = item != NULL ? item : Py_None;
    Py_INCREF(orig); /* Python code run by the copy may replace the slot's reference */
    PyObject *copy = copium_deepcopy_child(ctx, orig);
    Py_DECREF(orig);
    if (copy == NULL)
        return -1;
    slot = target_slot(t, byte_offset);
    if (slot == NULL) {
        Py_DECREF(copy);
        return -1;
    }
    memcpy(&item, slot, sizeof(item));
    if (copy == item) {
        Py_DECREF(copy);
        return 0;
    }
    memcpy(slot, &copy, sizeof(copy));
    Py_XDECREF(item);
    return 0;
}

static PyObject *deepcopy_with_objects(copium_ctx *ctx, PyArrayObject *src, copium_hash_t hash)
{
    offset_list offsets = {.offsets = offsets.inline_offsets, .len = 0, .cap = 8};
    PyArray_Descr *descr = PyArray_DESCR(src);
    if (collect_object_offsets(descr, 0, &offsets) < 0)
        goto fail_offsets;

    /* The copy holds the originals' pointers (new references) until each is replaced. */
    PyArrayObject *copy = (PyArrayObject *)PyArray_NewCopy(src, NPY_KEEPORDER);
    if (copy == NULL)
        goto fail_offsets;
    if (copium_memo_remember(ctx, (PyObject *)src, hash, (PyObject *)copy) < 0)
        goto fail;

    /* A keep-order copy is dense (the layout numpy's __deepcopy__ walks with a keep-order
     * iterator): its items lie one after the other in memory order. */
    copy_target target = {copy, PyArray_SIZE(copy), PyArray_DESCR(copy)};
    Py_ssize_t itemsize = (Py_ssize_t)PyArray_ITEMSIZE(copy);
    for (npy_intp i = 0; i < target.size && offsets.len > 0; i++) {
        for (Py_ssize_t k = 0; k < offsets.len; k++) {
            if (deepcopy_slot(ctx, &target, i * itemsize + offsets.offsets[k]) < 0)
                goto fail;
        }
    }
    if (offsets.offsets != offsets.inline_offsets)
        PyMem_Free(offsets.offsets);
    if (copium_memo_store(ctx, (PyObject *)src, hash, (PyObject *)copy) < 0) {
        Py_DECREF(copy);
        return NULL;
    }
    return (PyObject *)copy;
fail:
    Py_DECREF(copy);
fail_offsets:
    if (offsets.offsets != offsets.inline_offsets)
        PyMem_Free(offsets.offsets);
    return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* The handlers */

static PyObject *ndarray_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash, void *data)
{
    (void)data;
    PyArrayObject *src = (PyArrayObject *)obj;
    if (PyDataType_REFCHK(PyArray_DESCR(src)))
        return deepcopy_with_objects(ctx, src, hash);
    PyObject *copy = keeporder_copy(src);
    if (copy != NULL && copium_memo_store(ctx, obj, hash, copy) < 0)
        Py_CLEAR(copy);
    return copy;
}

static const copium_handler ndarray_handler = {
    .struct_size = sizeof(copium_handler),
    .name = NDARRAY_HANDLER_NAME,
    .flags = 0,
    .deepcopy = ndarray_deepcopy,
    .copy = NULL, /* stdlib's path: ndarray.__copy__ */
    .data = NULL,
};

static const copium_handler scalar_handler = {
    .struct_size = sizeof(copium_handler),
    .name = SCALAR_HANDLER_NAME,
    .flags = COPIUM_HANDLER_ATOMIC,
    .deepcopy = NULL,
    .copy = NULL,
    .data = NULL,
};

/* ---------------------------------------------------------------------------------------- */
/* Module functions */

static PyObject *register_ndarray(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    if (copium_register_handler(&PyArray_Type, &ndarray_handler) < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* Register the ATOMIC handler for one numpy scalar type (an exact numpy.generic subclass). */
static PyObject *register_atomic_scalar(PyObject *module, PyObject *type)
{
    (void)module;
    if (!PyType_Check(type) || !PyType_IsSubtype((PyTypeObject *)type, &PyGenericArrType_Type)) {
        PyErr_Format(PyExc_TypeError, "expected a numpy scalar type, got %R", type);
        return NULL;
    }
    if (copium_register_handler((PyTypeObject *)type, &scalar_handler) < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* Remove the handler of type: returns whether one was registered. */
static PyObject *unregister(PyObject *module, PyObject *type)
{
    (void)module;
    if (!PyType_Check(type)) {
        PyErr_Format(PyExc_TypeError, "expected a type, got %R", type);
        return NULL;
    }
    int rc = copium_unregister_handler((PyTypeObject *)type);
    if (rc < 0)
        return NULL;
    return PyBool_FromLong(rc);
}

static PyMethodDef native_methods[] = {
    {"register_ndarray", register_ndarray, METH_NOARGS,
     "register_ndarray()\n--\n\nRegister copium's handler for numpy.ndarray."},
    {"register_atomic_scalar", register_atomic_scalar, METH_O,
     "register_atomic_scalar(type)\n--\n\nRegister type (a numpy scalar type) as an atom."},
    {"unregister", unregister, METH_O,
     "unregister(type)\n--\n\nRemove type's handler; True when there was one."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef native_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "copium_numpy._native",
    .m_doc = "copium's handlers for numpy (see the copium_numpy package).",
    .m_size = -1,
    .m_methods = native_methods,
};

PyMODINIT_FUNC PyInit__native(void)
{
    import_array();
    if (copium_import() < 0)
        return NULL;
    PyObject *module = PyModule_Create(&native_module);
    if (module == NULL)
        return NULL;
    if (PyModule_AddStringConstant(module, "NDARRAY_HANDLER_NAME", NDARRAY_HANDLER_NAME) < 0 ||
        PyModule_AddStringConstant(module, "SCALAR_HANDLER_NAME", SCALAR_HANDLER_NAME) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
