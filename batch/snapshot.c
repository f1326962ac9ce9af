/* The Snapshot type (see snapshot.h): a plan recorded in snapshot mode, built on each call
 * (through vectorcall: a call costs the build and nothing else). */
#include "snapshot.h"

#if PY_VERSION_HEX < 0x030C0000
#include <structmember.h>
#define Py_T_PYSSIZET T_PYSSIZET
#define Py_READONLY   READONLY
#endif

#include "../handlers/handlers.h"
#include "batch.h"
#include "plan.h"

typedef struct {
    PyObject_HEAD copium_plan *plan; /* NULL only once the collector cleared the object */
    vectorcallfunc vectorcall;
    PyTypeObject *of; /* the type of the object recorded (strong), for repr */
} snapshot_object;

static PyObject *build(snapshot_object *self)
{
    if (self->plan == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "copium: this snapshot was cleared");
        return NULL;
    }
    return copium_plan_build(self->plan);
}

static PyObject *snapshot_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf,
                                     PyObject *kwnames)
{
    (void)args;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (nargs != 0 || (kwnames != NULL && PyTuple_GET_SIZE(kwnames) != 0)) {
        PyErr_Format(PyExc_TypeError, "a snapshot takes no arguments (%zd given)",
                     nargs + (kwnames ? PyTuple_GET_SIZE(kwnames) : 0));
        return NULL;
    }
    return build((snapshot_object *)callable);
}

PyObject *copium_snapshot_new(PyObject *obj, PyObject *unpinned)
{
    copium_batch_state *state = copium_batch();
    if (state == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "copium: the batch layer is not initialised");
        return NULL;
    }
    if (copium_handlers_sync() < 0)
        return NULL;
    PyObject *first;
    copium_plan *plan = copium_plan_record(obj, COPIUM_PLAN_SNAPSHOT, unpinned, &first);
    if (plan == NULL)
        return NULL;
    snapshot_object *self = PyObject_GC_New(snapshot_object, state->snapshot_type);
    if (self == NULL) {
        copium_plan_free(plan);
        return NULL;
    }
    self->plan = plan;
    self->vectorcall = snapshot_vectorcall;
    self->of = (PyTypeObject *)Py_NewRef((PyObject *)Py_TYPE(obj));
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

PyObject *copium_snapshot_build(PyObject *snapshot)
{
    return build((snapshot_object *)snapshot);
}

int copium_snapshot_quiet(PyObject *snapshot)
{
    snapshot_object *self = (snapshot_object *)snapshot;
    return self->plan != NULL && copium_plan_quiet(self->plan);
}

static int snapshot_traverse(snapshot_object *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->of);
    if (self->plan != NULL)
        return copium_plan_traverse(self->plan, visit, arg);
    return 0;
}

static int snapshot_clear(snapshot_object *self)
{
    copium_plan *plan = self->plan;
    self->plan = NULL;
    copium_plan_free(plan);
    Py_CLEAR(self->of);
    return 0;
}

static void snapshot_dealloc(snapshot_object *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    snapshot_clear(self);
    tp->tp_free(self);
    Py_DECREF(tp);
}

static PyObject *snapshot_repr(snapshot_object *self)
{
    if (self->plan == NULL)
        return PyUnicode_FromString("<copium.extra.Snapshot (cleared)>");
    PyObject *info = copium_plan_info(self->plan);
    if (info == NULL)
        return NULL;
    PyObject *nodes = PyDict_GetItemString(info, "nodes");
    PyObject *kinds = PyDict_GetItemString(info, "kinds");
    PyObject *engine = kinds ? PyDict_GetItemString(kinds, "engine") : NULL;
    PyObject *repr = NULL;
    if (nodes != NULL && engine != NULL)
        repr = PyUnicode_FromFormat("<copium.extra.Snapshot of %s: %S objects per copy, %S by "
                                    "the engine>",
                                    self->of->tp_name, nodes, engine);
    Py_DECREF(info);
    return repr;
}

static PyObject *snapshot_sizeof(snapshot_object *self, PyObject *unused)
{
    (void)unused;
    size_t size = (size_t)Py_TYPE(self)->tp_basicsize;
    if (self->plan != NULL)
        size += copium_plan_sizeof(self->plan);
    return PyLong_FromSize_t(size);
}

static PyObject *snapshot_info(snapshot_object *self, PyObject *unused)
{
    (void)unused;
    if (self->plan == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "copium: this snapshot was cleared");
        return NULL;
    }
    return copium_plan_info(self->plan);
}

/* The type's __call__ as Python sees it (inspect.signature: no arguments); calls themselves
 * go through vectorcall. */
static PyObject *snapshot_call_method(snapshot_object *self, PyObject *unused)
{
    (void)unused;
    return build(self);
}

static PyMethodDef snapshot_call_def = {
    "__call__", (PyCFunction)snapshot_call_method, METH_NOARGS,
    PyDoc_STR("__call__($self, /)\n--\n\nA new deep copy of the object as it was recorded.")};

int copium_snapshot_type_ready(PyTypeObject *tp)
{
    PyObject *descr = PyDescr_NewMethod(tp, &snapshot_call_def);
    if (descr == NULL)
        return -1;
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *dict = PyType_GetDict(tp);
#else
    PyObject *dict = Py_XNewRef(tp->tp_dict);
#endif
    int rc = dict ? PyDict_SetItemString(dict, "__call__", descr) : -1;
    Py_XDECREF(dict);
    Py_DECREF(descr);
    PyType_Modified(tp);
    return rc;
}

static PyMethodDef snapshot_methods[] = {
    {"__sizeof__", (PyCFunction)snapshot_sizeof, METH_NOARGS,
     PyDoc_STR("The bytes of the snapshot's plan (the objects it holds aside).")},
    {"_info", (PyCFunction)snapshot_info, METH_NOARGS,
     PyDoc_STR("What the plan holds: objects per copy by kind, engine parts, constants.")},
    {"__class_getitem__", Py_GenericAlias, METH_O | METH_CLASS, PyDoc_STR("See PEP 585")},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef snapshot_members[] = {
    {"__vectorcalloffset__", Py_T_PYSSIZET, offsetof(snapshot_object, vectorcall), Py_READONLY,
     NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot snapshot_slots[] = {
    {Py_tp_doc,
     (void *)PyDoc_STR("A deep copy recorded as a plan by copium.extra.snapshot(obj); calling it "
                       "returns a new deep copy of obj as it was then.")},
    {Py_tp_dealloc, (void *)snapshot_dealloc},
    {Py_tp_traverse, (void *)snapshot_traverse},
    {Py_tp_clear, (void *)snapshot_clear},
    {Py_tp_call, (void *)PyVectorcall_Call},
    {Py_tp_repr, (void *)snapshot_repr},
    {Py_tp_methods, snapshot_methods},
    {Py_tp_members, snapshot_members},
    {0, NULL},
};

PyType_Spec copium_snapshot_spec = {
    .name = "copium.extra.Snapshot",
    .basicsize = sizeof(snapshot_object),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL |
             Py_TPFLAGS_DISALLOW_INSTANTIATION | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = snapshot_slots,
};
