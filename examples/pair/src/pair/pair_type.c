/* The Pair type of pair._pair: a small mutable container, pair.Pair(first, second), written with
 * the plain CPython C API (nothing here is specific to copium). It is a heap type made from a
 * spec for the module object that asks for it (PyType_FromModuleAndSpec), so no C global holds
 * it: each module object, in each interpreter, has a type of its own, kept in its module state
 * (_pair.c). The functions below find the type through their object (Py_TYPE), never through a
 * global. */
#define COPIUM_NO_IMPORT /* _pair.c defines copium's API pointer; this file uses none of it */
#include "pair.h"

PyObject *pair_create(PyTypeObject *type, PyObject *first, PyObject *second)
{
    PairObject *self = (PairObject *)type->tp_alloc(type, 0); /* tracked by the collector */
    if (self == NULL)
        return NULL;
    self->first = Py_NewRef(first);
    self->second = Py_NewRef(second);
    return (PyObject *)self;
}

static PyObject *pair_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"first", "second", NULL};
    PyObject *first, *second;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO:Pair", kwlist, &first, &second))
        return NULL;
    return pair_create(type, first, second);
}

/* A heap type's instances hold a reference to their type: the collector must see it. */
static int pair_traverse(PyObject *self, visitproc visit, void *arg)
{
    PairObject *pair = (PairObject *)self;
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(pair->first);
    Py_VISIT(pair->second);
    return 0;
}

static int pair_clear(PyObject *self)
{
    PairObject *pair = (PairObject *)self;
    Py_SETREF(pair->first, Py_NewRef(Py_None));
    Py_SETREF(pair->second, Py_NewRef(Py_None));
    return 0;
}

/* The trashcan turns the destruction of a long chain of Pairs into a loop instead of a deep
 * C recursion, as for CPython's own containers (3.14 does it for every type by itself). The
 * instance's reference to its heap type is released last. */
/* clang-format off */
static void pair_dealloc(PyObject *self)
{
    PairObject *pair = (PairObject *)self;
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    Py_TRASHCAN_BEGIN(self, pair_dealloc)
    Py_CLEAR(pair->first);
    Py_CLEAR(pair->second);
    type->tp_free(self);
    Py_DECREF(type);
    Py_TRASHCAN_END
}
/* clang-format on */

static PyObject *pair_repr(PyObject *self)
{
    PairObject *pair = (PairObject *)self;
    int rc = Py_ReprEnter(self);
    if (rc != 0)
        return rc > 0 ? PyUnicode_FromString("Pair(...)") : NULL;
    PyObject *repr = PyUnicode_FromFormat("Pair(%R, %R)", pair->first, pair->second);
    Py_ReprLeave(self);
    return repr;
}

/* == and != compare first with first, then second with second (as tuples compare). The type is
 * final, so "another Pair" means an object of exactly this one's type. */
static PyObject *pair_richcompare(PyObject *a, PyObject *b, int op)
{
    if ((op != Py_EQ && op != Py_NE) || Py_TYPE(b) != Py_TYPE(a))
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
static PyObject *pair_reduce(PyObject *self, PyObject *unused)
{
    (void)unused;
    PairObject *pair = (PairObject *)self;
    return Py_BuildValue("O(OO)(OO)", (PyObject *)Py_TYPE(self), Py_None, Py_None, pair->first,
                         pair->second);
}

static PyObject *pair_setstate(PyObject *self, PyObject *state)
{
    PairObject *pair = (PairObject *)self;
    if (!PyTuple_Check(state) || PyTuple_GET_SIZE(state) != 2) {
        PyErr_SetString(PyExc_TypeError, "Pair.__setstate__ needs a (first, second) tuple");
        return NULL;
    }
    Py_SETREF(pair->first, Py_NewRef(PyTuple_GET_ITEM(state, 0)));
    Py_SETREF(pair->second, Py_NewRef(PyTuple_GET_ITEM(state, 1)));
    Py_RETURN_NONE;
}

static PyObject *pair_get(PyObject *self, void *closure)
{
    PairObject *pair = (PairObject *)self;
    return Py_NewRef(closure ? pair->second : pair->first);
}

static int pair_set(PyObject *self, PyObject *value, void *closure)
{
    PairObject *pair = (PairObject *)self;
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "Pair attributes cannot be deleted");
        return -1;
    }
    if (closure)
        Py_SETREF(pair->second, Py_NewRef(value));
    else
        Py_SETREF(pair->first, Py_NewRef(value));
    return 0;
}

static PyGetSetDef pair_getset[] = {
    {"first", pair_get, pair_set, PyDoc_STR("The first item."), NULL},
    {"second", pair_get, pair_set, PyDoc_STR("The second item."), (void *)1},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef pair_methods[] = {
    {"__reduce__", pair_reduce, METH_NOARGS, NULL},
    {"__setstate__", pair_setstate, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot pair_slots[] = {
    {Py_tp_doc, (void *)PyDoc_STR("Pair(first, second)\n--\n\nA mutable pair of any two objects.")},
    {Py_tp_new, (void *)pair_new},
    {Py_tp_dealloc, (void *)pair_dealloc},
    {Py_tp_traverse, (void *)pair_traverse},
    {Py_tp_clear, (void *)pair_clear},
    {Py_tp_repr, (void *)pair_repr},
    {Py_tp_richcompare, (void *)pair_richcompare},
    {Py_tp_hash, (void *)PyObject_HashNotImplemented},
    {Py_tp_getset, (void *)pair_getset},
    {Py_tp_methods, (void *)pair_methods},
    {0, NULL},
};

/* Final (no Py_TPFLAGS_BASETYPE: copium's handler covers exactly this type, and a subclass
 * would take stdlib's path) and immutable (no attributes set on the class, as for a static
 * type). */
static PyType_Spec pair_spec = {
    .name = "pair.Pair",
    .basicsize = sizeof(PairObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = pair_slots,
};

PyObject *pair_type_create(PyObject *module)
{
    return PyType_FromModuleAndSpec(module, &pair_spec, NULL);
}
