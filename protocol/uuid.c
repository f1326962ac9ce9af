/* The handler for uuid.UUID (exact type). Stdlib deep-copies a UUID through
 * object.__reduce_ex__(4): copyreg.__newobj__(UUID), then the state UUID.__getstate__ returns
 * ({'int': n}, and 'is_safe': the SafeUUID member's value unless it is unknown) is deep-copied
 * and passed to UUID.__setstate__, which sets the two slots with object.__setattr__ ('is_safe'
 * to the SafeUUID member of that value, or SafeUUID.unknown). The copy is a new UUID whose
 * slots hold the original's int and member. This handler writes those two slots into a new
 * instance directly, while everything that route depends on is what the uuid module defines:
 * no __deepcopy__, object's __reduce_ex__ and __reduce__, no __getnewargs(_ex)__, __getstate__
 * and __setstate__ from the uuid module, plain slot members, object.__new__, metaclass type,
 * copyreg.__newobj__ unchanged, int and None atoms. That is checked when the type is first
 * met and trusted while the version tags of UUID and SafeUUID hold. Anything else (a Python
 * memo, a slot holding something other than an int and a SafeUUID member, a changed class)
 * takes stdlib's path. Like the plain-object path, it does not memoize the temporary state
 * dict stdlib's path makes. */
#include "uuid.h"

#include "../core/compat.h"
#include "../core/engine.h"
#include "stdlib.h"

#include <string.h>
#if PY_VERSION_HEX < 0x030C0000
#include <structmember.h>
#define Py_T_OBJECT_EX T_OBJECT_EX
#define Py_READONLY    READONLY
#endif

/* Per interpreter (the protocol state's uuid_facts): its uuid module's classes. */
struct copium_uuid_facts {
    PyTypeObject *uuid_type, *safe_type; /* strong references once checked */
    Py_ssize_t int_offset, safe_offset;
    unsigned int uuid_version, safe_version; /* the classes' version tags when last checked */
    int usable;                              /* what that check found */
};

int copium_uuid_facts_init(copium_protocol *P)
{
    P->uuid_facts = PyMem_Calloc(1, sizeof(*P->uuid_facts));
    if (P->uuid_facts == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

void copium_uuid_facts_fini(copium_protocol *P)
{
    if (P->uuid_facts == NULL)
        return;
    Py_CLEAR(P->uuid_facts->uuid_type);
    Py_CLEAR(P->uuid_facts->safe_type);
    PyMem_Free(P->uuid_facts);
    P->uuid_facts = NULL;
}

/* tp's version tag, assigned if it had none (0 when none can be). */
static unsigned int assigned_version(copium_protocol *P, PyTypeObject *tp)
{
#if PY_VERSION_HEX >= 0x030C0000
    (void)P;
    PyUnstable_Type_AssignVersionTag(tp);
#else
    (void)copium_type_lookup(tp, P->names.reduce_ex); /* assigns a tag */
#endif
    return copium_type_version(tp);
}

/* The offset of the writable object slot `name`, or -1. */
static Py_ssize_t slot_offset(PyTypeObject *tp, const char *name)
{
    PyObject *key = PyUnicode_InternFromString(name);
    if (key == NULL) {
        PyErr_Clear();
        return -1;
    }
    PyObject *descr = copium_type_lookup(tp, key);
    Py_DECREF(key);
    if (descr == NULL || !Py_IS_TYPE(descr, &PyMemberDescr_Type))
        return -1;
    PyMemberDef *m = ((PyMemberDescrObject *)descr)->d_member;
    if (m->type != Py_T_OBJECT_EX || (m->flags & Py_READONLY) || m->offset <= 0)
        return -1;
    return m->offset;
}

/* f is the function the uuid module defines under this qualified name. */
static int is_uuid_function(PyObject *f, const char *qualname)
{
    if (f == NULL || !PyFunction_Check(f))
        return 0;
    PyObject *module = PyFunction_GET_MODULE(f);
    PyObject *name = ((PyFunctionObject *)f)->func_qualname;
    return module != NULL && PyUnicode_Check(module) &&
           PyUnicode_CompareWithASCIIString(module, "uuid") == 0 && name != NULL &&
           PyUnicode_Check(name) && PyUnicode_CompareWithASCIIString(name, qualname) == 0;
}

/* The route for tp (uuid.UUID) is the one the uuid module ships; the slots' offsets in
 * P->uuid_facts-> */
static int route_is_uuid_s(copium_protocol *P, PyTypeObject *tp)
{
    if (Py_TYPE(tp) != &PyType_Type || tp->tp_new != PyBaseObject_Type.tp_new ||
        copium_type_lookup(tp, P->names.deepcopy) != NULL ||
        copium_type_lookup(tp, P->names.reduce_ex) != P->stdlib.object_reduce_ex ||
        copium_type_lookup(tp, P->names.reduce) != P->stdlib.object_reduce ||
        copium_type_lookup(tp, P->names.getnewargs) != NULL ||
        copium_type_lookup(tp, P->names.getnewargs_ex) != NULL ||
        !is_uuid_function(copium_type_lookup(tp, P->names.getstate), "UUID.__getstate__") ||
        !is_uuid_function(copium_type_lookup(tp, P->names.setstate), "UUID.__setstate__"))
        return 0;
    P->uuid_facts->int_offset = slot_offset(tp, "int");
    P->uuid_facts->safe_offset = slot_offset(tp, "is_safe");
    return P->uuid_facts->int_offset > 0 && P->uuid_facts->safe_offset > 0;
}

/* Check tp (uuid.UUID) and safe (uuid.SafeUUID) as they are now, and record the answer with
 * the versions it holds for: a class that stays changed is not checked again on every copy. */
static int check(copium_protocol *P, PyTypeObject *tp, PyTypeObject *safe)
{
    P->uuid_facts->uuid_version = assigned_version(P, tp);
    P->uuid_facts->safe_version = assigned_version(P, safe);
    P->uuid_facts->usable = P->uuid_facts->uuid_version != 0 && P->uuid_facts->safe_version != 0 &&
                            route_is_uuid_s(P, tp);
    return P->uuid_facts->usable;
}

/* 1 when obj (of the type the handler serves) is copied by writing its two slots into a new
 * instance: the route is the uuid module's and the slots hold an int and a SafeUUID member. */
static int copied_natively(copium_protocol *P, PyObject *obj)
{
    PyTypeObject *tp = Py_TYPE(obj);
    if (tp != P->uuid_facts->uuid_type || P->stdlib.newobj != P->stdlib.orig_newobj)
        return 0;
    /* A class changed since the last check: check again (the route may still be the same). */
    if (copium_type_version(tp) != P->uuid_facts->uuid_version ||
        copium_type_version(P->uuid_facts->safe_type) != P->uuid_facts->safe_version)
        check(P, tp, P->uuid_facts->safe_type);
    if (!P->uuid_facts->usable)
        return 0;
    PyObject *value = *(PyObject **)((char *)obj + P->uuid_facts->int_offset);
    PyObject *safe = *(PyObject **)((char *)obj + P->uuid_facts->safe_offset);
    /* The state's values (the int, the member's value: an int or None) must be atoms. */
    return value != NULL && safe != NULL && PyLong_CheckExact(value) &&
           Py_IS_TYPE(safe, P->uuid_facts->safe_type) &&
           (copium_registry_lookup(&P->core->registry, &PyLong_Type)->flags &
            COPIUM_HANDLER_ATOMIC) &&
           (copium_registry_lookup(&P->core->registry, Py_TYPE(Py_None))->flags &
            COPIUM_HANDLER_ATOMIC);
}

/* A new UUID holding obj's two slots (obj was checked by copied_natively). */
static PyObject *uuid_clone(copium_protocol *P, PyObject *obj)
{
    PyTypeObject *tp = Py_TYPE(obj);
    PyObject *copy = tp->tp_alloc(tp, 0);
    if (copy == NULL)
        return NULL;
    *(PyObject **)((char *)copy + P->uuid_facts->int_offset) =
        Py_NewRef(*(PyObject **)((char *)obj + P->uuid_facts->int_offset));
    *(PyObject **)((char *)copy + P->uuid_facts->safe_offset) =
        Py_NewRef(*(PyObject **)((char *)obj + P->uuid_facts->safe_offset));
    return copy;
}

static PyObject *uuid_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash, void *data)
{
    copium_protocol *P = copium_proto(ctx);
    (void)data;
    if (copium_ctx_python_memo(ctx) != NULL || !copied_natively(P, obj))
        return copium_deepcopy_default(ctx, obj, hash);
    PyObject *copy = uuid_clone(P, obj);
    if (copy != NULL && copium_memo_store(ctx, obj, hash, copy) < 0)
        Py_CLEAR(copy);
    return copy;
}

/* Shallow copies keep stdlib's protocol (copy is NULL). Quiet: the handler runs no Python code
 * itself (stdlib's path, copium_deepcopy_default, readies the call for it first). */
static const copium_handler uuid_handler = {
    .struct_size = sizeof(copium_handler),
    .name = "uuid",
    .flags = COPIUM_HANDLER_QUIET,
    .deepcopy = uuid_deepcopy,
};

int copium_uuid_is_handler(const copium_handler *h)
{
    return h->name == uuid_handler.name && h->flags == uuid_handler.flags &&
           h->deepcopy == uuid_handler.deepcopy && h->copy == uuid_handler.copy;
}

const copium_handler *copium_uuid_handler_for(copium_protocol *P, PyTypeObject *type)
{
    if (strcmp(type->tp_name, "UUID") != 0 || !PyType_HasFeature(type, Py_TPFLAGS_HEAPTYPE))
        return NULL;
    PyObject *name = PyUnicode_FromString("uuid");
    PyObject *module = name ? PyImport_GetModule(name) : NULL;
    Py_XDECREF(name);
    PyObject *uuid = module ? PyObject_GetAttrString(module, "UUID") : NULL;
    PyObject *safe = module ? PyObject_GetAttrString(module, "SafeUUID") : NULL;
    Py_XDECREF(module);
    const copium_handler *h = NULL;
    if (uuid == (PyObject *)type && safe != NULL && PyType_Check(safe)) {
        if (P->uuid_facts->uuid_type == NULL) { /* kept with the state: the registry holds it too */
            P->uuid_facts->uuid_type = (PyTypeObject *)Py_NewRef(uuid);
            P->uuid_facts->safe_type = (PyTypeObject *)Py_NewRef(safe);
        }
        /* Only the first module's classes (a reloaded uuid module takes stdlib's path). */
        if (P->uuid_facts->uuid_type == type && P->uuid_facts->safe_type == (PyTypeObject *)safe &&
            check(P, type, P->uuid_facts->safe_type))
            h = &uuid_handler;
    }
    Py_XDECREF(uuid);
    Py_XDECREF(safe);
    PyErr_Clear();
    return h;
}

/* The plan's rebuild: H is the protocol state's first member (protocol/state.h). */
static PyObject *uuid_rebuild(copium_handlers_state *H, PyObject *source, PyObject *unused)
{
    (void)unused;
    return uuid_clone((copium_protocol *)H, source);
}

/* For the plan (batch/plan.c): the source is a private clone (the slots of a UUID can be
 * rewritten through object.__setattr__), rebuilt by cloning it again. */
int copium_uuid_recipe(copium_protocol *P, const copium_handler *h, PyObject *obj,
                       copium_rebuild_fn *rebuild, PyObject **source, PyObject **child)
{
    if (!copium_uuid_is_handler(h) || !copied_natively(P, obj))
        return 0;
    *source = uuid_clone(P, obj);
    if (*source == NULL)
        return -1;
    *rebuild = uuid_rebuild;
    *child = NULL;
    return 1;
}
