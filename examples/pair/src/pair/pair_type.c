/* pair._pair: an example copium plugin.
 *
 * It defines a small mutable container type, pair.Pair(first, second), and teaches copium how
 * to copy it through copium's public C API (copium.h, found with copium.get_include()). The
 * plugin never links against copium: copium_import() fetches copium's function table at import
 * time, and every copium_* macro below calls through that table.
 *
 * Read it in this order: the Pair type (plain CPython C API, nothing copium-specific), then the
 * two handler functions and the copium_handler struct, then the module init that calls
 * copium_import() and registers the handler. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <copium.h>

/* ------------------------------------------------------------------------------------------ */
/* The type: two strong references, never NULL (tp_clear puts None back instead of NULL), so   */
/* neither the methods nor the copy handler have to check for a half-cleared Pair.             */

typedef struct {
    PyObject ob_base; /* what PyObject_HEAD expands to */
    PyObject *first;
    PyObject *second;
} PairObject;

static PyTypeObject PairType;

/* A new Pair holding new references to first and second. */
static PyObject *pair_create(PyObject *first, PyObject *second)
{
    PairObject *self = PyObject_GC_New(PairObject, &PairType);
    if (self == NULL)
        return NULL;
    self->first = Py_NewRef(first);
    self->second = Py_NewRef(second);
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

static PyObject *pair_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    (void)type;
    static char *kwlist[] = {"first", "second", NULL};
    PyObject *first, *second;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO:Pair", kwlist, &first, &second))
        return NULL;
    return pair_create(first, second);
}

static int pair_traverse(PairObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->first);
    Py_VISIT(self->second);
    return 0;
}

static int pair_clear(PairObject *self)
{
    Py_SETREF(self->first, Py_NewRef(Py_None));
    Py_SETREF(self->second, Py_NewRef(Py_None));
    return 0;
}

/* The trashcan turns the destruction of a long chain of Pairs into a loop instead of a deep
 * C recursion, as for CPython's own containers. */
/* clang-format off */
static void pair_dealloc(PairObject *self)
{
    PyObject_GC_UnTrack(self);
    Py_TRASHCAN_BEGIN(self, pair_dealloc)
    Py_CLEAR(self->first);
    Py_CLEAR(self->second);
    PyObject_GC_Del(self);
    Py_TRASHCAN_END
}
/* clang-format on */

static PyObject *pair_repr(PairObject *self)
{
    int rc = Py_ReprEnter((PyObject *)self);
    if (rc != 0)
        return rc > 0 ? PyUnicode_FromString("Pair(...)") : NULL;
    PyObject *repr = PyUnicode_FromFormat("Pair(%R, %R)", self->first, self->second);
    Py_ReprLeave((PyObject *)self);
    return repr;
}

/* == and != compare first with first, then second with second (as tuples compare). */
static PyObject *pair_richcompare(PyObject *a, PyObject *b, int op)
{
    if ((op != Py_EQ && op != Py_NE) || !PyObject_TypeCheck(b, &PairType))
        Py_RETURN_NOTIMPLEMENTED;
    PairObject *x = (PairObject *)a, *y = (PairObject *)b;
    if (Py_EnterRecursiveCall(" in Pair comparison"))
        return NULL;
    /* Hold the items: a comparison may run code that reassigns them. */
    PyObject *items[4] = {Py_NewRef(x->first), Py_NewRef(y->first), Py_NewRef(x->second),
                          Py_NewRef(y->second)};
    int eq = PyObject_RichCompareBool(items[0], items[1], Py_EQ);
    if (eq > 0)
        eq = PyObject_RichCompareBool(items[2], items[3], Py_EQ);
    for (int i = 0; i < 4; i++)
        Py_DECREF(items[i]);
    Py_LeaveRecursiveCall();
    if (eq < 0)
        return NULL;
    return PyBool_FromLong(op == Py_EQ ? eq : !eq);
}

/* For pickle and for the standard library's copy module: Pair(None, None) and then
 * __setstate__((first, second)). Reconstructing from a state rather than from the constructor
 * arguments is what lets copy.deepcopy copy a Pair that is part of a cycle: the new, empty Pair
 * is in the memo before its contents are copied. */
static PyObject *pair_reduce(PairObject *self, PyObject *unused)
{
    (void)unused;
    return Py_BuildValue("O(OO)(OO)", (PyObject *)Py_TYPE(self), Py_None, Py_None, self->first,
                         self->second);
}

static PyObject *pair_setstate(PairObject *self, PyObject *state)
{
    if (!PyTuple_Check(state) || PyTuple_GET_SIZE(state) != 2) {
        PyErr_SetString(PyExc_TypeError, "Pair.__setstate__ needs a (first, second) tuple");
        return NULL;
    }
    Py_SETREF(self->first, Py_NewRef(PyTuple_GET_ITEM(state, 0)));
    Py_SETREF(self->second, Py_NewRef(PyTuple_GET_ITEM(state, 1)));
    Py_RETURN_NONE;
}

static PyObject *pair_get(PairObject *self, void *closure)
{
    return Py_NewRef(closure ? self->second : self->first);
}

static int pair_set(PairObject *self, PyObject *value, void *closure)
{
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "Pair attributes cannot be deleted");
        return -1;
    }
    if (closure)
        Py_SETREF(self->second, Py_NewRef(value));
    else
        Py_SETREF(self->first, Py_NewRef(value));
    return 0;
}

static PyGetSetDef pair_getset[] = {
    {"first", (getter)pair_get, (setter)pair_set, PyDoc_STR("The first item."), NULL},
    {"second", (getter)pair_get, (setter)pair_set, PyDoc_STR("The second item."), (void *)1},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef pair_methods[] = {
    {"__reduce__", (PyCFunction)pair_reduce, METH_NOARGS, NULL},
    {"__setstate__", (PyCFunction)pair_setstate, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject PairType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pair.Pair",
    .tp_doc = PyDoc_STR("Pair(first, second)\n--\n\nA mutable pair of any two objects."),
    .tp_basicsize = sizeof(PairObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC, /* final: no subclasses */
    .tp_new = pair_new,
    .tp_dealloc = (destructor)pair_dealloc,
    .tp_traverse = (traverseproc)pair_traverse,
    .tp_clear = (inquiry)pair_clear,
    .tp_repr = (reprfunc)pair_repr,
    .tp_richcompare = pair_richcompare,
    .tp_hash = PyObject_HashNotImplemented,
    .tp_getset = pair_getset,
    .tp_methods = pair_methods,
};

/* ------------------------------------------------------------------------------------------ */
/* The copium handler.                                                                        */

/* Deep copy. copium calls this for an object of exactly type Pair that is not in the memo yet;
 * hash is the object's address hash, handed back to the memo functions. The steps are the ones
 * of copium's own list handler:
 *   1. make the new, still empty Pair;
 *   2. copium_memo_remember(obj -> copy), so that a child that leads back to obj (obj.first is
 *      obj, or a list holding obj) finds this copy instead of copying obj again forever;
 *   3. copy the children with copium_deepcopy_child (memo, cycles, recursion limit and
 *      keepalive then work as for builtin containers);
 *   4. copium_memo_store(obj -> copy) once the copy is complete.
 * On any error: release what we made and return NULL with the exception set. */
static PyObject *pair_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash, void *data)
{
    (void)data;
    PairObject *self = (PairObject *)obj;
    PairObject *copy = (PairObject *)pair_create(Py_None, Py_None);
    if (copy == NULL)
        return NULL;
    if (copium_memo_remember(ctx, obj, hash, (PyObject *)copy) < 0)
        goto error;

    /* Copying a child can run Python code (a __deepcopy__ method) that reassigns obj.first:
     * hold a reference to the child while it is copied. */
    PyObject *child = Py_NewRef(self->first);
    PyObject *child_copy = copium_deepcopy_child(ctx, child);
    Py_DECREF(child);
    if (child_copy == NULL)
        goto error;
    Py_SETREF(copy->first, child_copy);

    child = Py_NewRef(self->second);
    child_copy = copium_deepcopy_child(ctx, child);
    Py_DECREF(child);
    if (child_copy == NULL)
        goto error;
    Py_SETREF(copy->second, child_copy);

    if (copium_memo_store(ctx, obj, hash, (PyObject *)copy) < 0)
        goto error;
    return (PyObject *)copy;
error:
    Py_DECREF(copy);
    return NULL;
}

/* Shallow copy: a new Pair holding the same two objects. */
static PyObject *pair_copy(PyObject *obj, void *data)
{
    (void)data;
    PairObject *self = (PairObject *)obj;
    return pair_create(self->first, self->second);
}

/* The vtable. copium keeps its own copy of this struct, so it need not be static, but the name
 * must stay valid for as long as the registration lasts (a string literal always does). */
static const copium_handler pair_handler = {
    .struct_size = sizeof(copium_handler), /* always sizeof: copium checks it */
    .name = "pair.Pair",                   /* what copium.handlers()[pair.Pair] shows */
    .flags = 0,                            /* not COPIUM_HANDLER_ATOMIC: Pair is mutable */
    .deepcopy = pair_deepcopy,             /* NULL would mean: stdlib's protocol (__reduce__) */
    .copy = pair_copy,                     /* idem */
    .data = NULL,                          /* handed back to both functions as `data` */
};

/* ------------------------------------------------------------------------------------------ */
/* The module.                                                                                */

static struct PyModuleDef pair_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "pair._pair",
    .m_doc = "An example copium plugin: a Pair type and its copy handler.",
    .m_size = -1,
};

PyMODINIT_FUNC PyInit__pair(void)
{
    /* First, before anything else can fail half-way: import copium and check that the
     * installed copium speaks the ABI this file was compiled against. On failure an
     * ImportError says what to rebuild or upgrade, and the import of pair fails with it. */
    if (copium_import() < 0)
        return NULL;
    if (PyType_Ready(&PairType) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&pair_module);
    if (module == NULL)
        return NULL;
    if (PyModule_AddObjectRef(module, "Pair", (PyObject *)&PairType) < 0)
        goto error;
    /* The same handler as a capsule, for copium.register_handler(pair.Pair, capsule) from
     * Python (to restore it after copium.unregister_handler, say). copium checks its name. */
    PyObject *capsule = PyCapsule_New((void *)&pair_handler, "copium.handler", NULL);
    if (capsule == NULL)
        goto error;
    int rc = PyModule_AddObjectRef(module, "handler", capsule);
    Py_DECREF(capsule);
    if (rc < 0)
        goto error;
    /* Last: once registered, copium.deepcopy and copium.copy use pair_handler for Pair. */
    if (copium_register_handler(&PairType, &pair_handler) < 0)
        goto error;
    return module;
error:
    Py_DECREF(module);
    return NULL;
}
