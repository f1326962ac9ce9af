/* stdlib's _reconstruct (Lib/copy.py), natively: build an object from a reduce value
 * (func, args[, state[, listitems[, dictitems]]]), deep or shallow. Every step keeps the
 * semantics of the Python code it replaces, errors included: the reduce value is unpacked as
 * `_reconstruct(x, memo, *rv)` would unpack it, args are deep-copied as the generator
 * `(deepcopy(arg, memo) for arg in args)` feeds `func(*args)`, `memo[id(x)] = y` happens right
 * after construction (so a cycle back to x finds y), then state goes through __setstate__ or
 * into __dict__ and slots, then list items are appended and dict items assigned, each child
 * copied through the engine. copyreg.__newobj__ is recognised and run natively, and only when
 * its class really uses object.__new__; every other class goes through its own `__new__`, which
 * does its own checks (so type(sys.flags) raises TypeError as in stdlib). */
#include "reduce.h"

#include "../core/compat.h"
#include "../core/engine.h"
#include "../handlers/dictiter.h"
#include "../handlers/genstop.h"
#include "culprit.h"

#if PY_VERSION_HEX < 0x030F0000
/* _PyObject_FunctionStr's naming of a callable in call errors: "module.qualname()" (up to
 * 3.14: 3.15's message for a `*args` that is not iterable names no function). */
static PyObject *function_str(copium_protocol *P, PyObject *func)
{
    PyObject *qualname, *module = NULL, *result = NULL;
    if (copium_get_optional_attr(func, P->names.qualname, &qualname) < 0)
        return NULL;
    if (qualname == NULL)
        return PyObject_Str(func);
    if (copium_get_optional_attr(func, P->names.module, &module) < 0)
        goto done;
    if (module != NULL && module != Py_None) {
        int ne = PyObject_RichCompareBool(module, P->names.builtins, Py_NE);
        if (ne < 0)
            goto done;
        if (ne) {
            result = PyUnicode_FromFormat("%S.%S()", module, qualname);
            goto done;
        }
    }
    result = PyUnicode_FromFormat("%S()", qualname);
done:
    Py_DECREF(qualname);
    Py_XDECREF(module);
    return result;
}
#endif

/* `func(*args)`: args as the call would see them. New reference to a tuple, or NULL. */
static PyObject *star_args(copium_protocol *P, PyObject *func, PyObject *args)
{
    if (PyTuple_CheckExact(args))
        return Py_NewRef(args);
    if (Py_TYPE(args)->tp_iter == NULL && !PySequence_Check(args)) {
#if PY_VERSION_HEX >= 0x030F0000
        /* 3.15 no longer names the function here. */
        (void)P;
        (void)func;
        PyErr_Format(PyExc_TypeError, "Value after * must be an iterable, not %.200s",
                     Py_TYPE(args)->tp_name);
#else
        PyObject *name = function_str(P, func);
        if (name != NULL) {
            PyErr_Format(PyExc_TypeError, "%U argument after * must be an iterable, not %.200s",
                         name, Py_TYPE(args)->tp_name);
            Py_DECREF(name);
        }
#endif
        return NULL;
    }
    return PySequence_Tuple(args);
}

/* `tuple(deepcopy(arg, memo) for arg in args)`. */
static PyObject *deepcopy_args(copium_ctx *ctx, PyObject *args)
{
    if (PyTuple_CheckExact(args)) {
        Py_ssize_t n = PyTuple_GET_SIZE(args);
        PyObject *copy = PyTuple_New(n);
        if (copy == NULL)
            return NULL;
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *item = copium_deepcopy_child(ctx, PyTuple_GET_ITEM(args, i));
            if (item == NULL) {
                copium_generator_stop();
                Py_DECREF(copy);
                return NULL;
            }
            PyTuple_SET_ITEM(copy, i, item);
        }
        return copy;
    }
    PyObject *it = PyObject_GetIter(args), *list = NULL, *item;
    if (it == NULL)
        return NULL;
    list = PyList_New(0);
    if (list == NULL)
        goto error;
    while ((item = PyIter_Next(it)) != NULL) {
        PyObject *copy = copium_deepcopy_child(ctx, item);
        Py_DECREF(item);
        if (copy == NULL) {
            copium_generator_stop();
            goto error;
        }
        int rc = PyList_Append(list, copy);
        Py_DECREF(copy);
        if (rc < 0)
            goto error;
    }
    if (PyErr_Occurred())
        goto error;
    Py_DECREF(it);
    PyObject *result = PyList_AsTuple(list);
    Py_DECREF(list);
    return result;
error:
    Py_DECREF(it);
    Py_XDECREF(list);
    return NULL;
}

/* Does `cls.__new__` resolve to object.__new__ with nothing in between, so that calling
 * object's tp_new directly is exactly `cls.__new__(cls, *args)`? (tp_new is object's own, so
 * object.__new__'s "is not safe" check passes; the metaclass neither intercepts attribute
 * access nor holds a data descriptor named __new__.) */
static int uses_object_new(copium_protocol *P, PyObject *cls)
{
    if (!PyType_Check(cls))
        return 0;
    PyTypeObject *tp = (PyTypeObject *)cls, *meta = Py_TYPE(cls);
    if (tp->tp_new != PyBaseObject_Type.tp_new || meta->tp_getattro != PyType_Type.tp_getattro)
        return 0;
    if (copium_type_lookup(tp, P->names.new_) != P->stdlib.object_new)
        return 0;
    PyObject *meta_new = copium_type_lookup(meta, P->names.new_);
    return meta_new == NULL || Py_TYPE(meta_new)->tp_descr_set == NULL;
}

/* copyreg.__newobj__(cls, *args): `cls.__new__(cls, *args)`. */
static PyObject *newobj(copium_protocol *P, PyObject *callargs)
{
    Py_ssize_t n = PyTuple_GET_SIZE(callargs);
    if (n == 0) {
        PyErr_SetString(PyExc_TypeError,
                        "__newobj__() missing 1 required positional argument: 'cls'");
        return NULL;
    }
    PyObject *cls = PyTuple_GET_ITEM(callargs, 0);
    if (uses_object_new(P, cls)) {
        PyObject *rest =
            n == 1 ? Py_NewRef(P->stdlib.empty_tuple) : PyTuple_GetSlice(callargs, 1, n);
        if (rest == NULL)
            return NULL;
        PyObject *y = PyBaseObject_Type.tp_new((PyTypeObject *)cls, rest, NULL);
        Py_DECREF(rest);
        return y;
    }
    PyObject *new_ = PyObject_GetAttr(cls, P->names.new_);
    if (new_ == NULL)
        return NULL;
    PyObject *y = PyObject_Call(new_, callargs, NULL);
    Py_DECREF(new_);
    return y;
}

int copium_unpack2(PyObject *seq, PyObject **a, PyObject **b)
{
    *a = *b = NULL;
    if ((PyTuple_CheckExact(seq) && PyTuple_GET_SIZE(seq) == 2) ||
        (PyList_CheckExact(seq) && PyList_GET_SIZE(seq) == 2)) {
        PyObject **items = PySequence_Fast_ITEMS(seq);
        *a = Py_NewRef(items[0]);
        *b = Py_NewRef(items[1]);
        return 0;
    }
    PyObject *it = PyObject_GetIter(seq);
    if (it == NULL) {
        if (PyErr_ExceptionMatches(PyExc_TypeError) && Py_TYPE(seq)->tp_iter == NULL &&
            !PySequence_Check(seq)) {
            PyErr_Format(PyExc_TypeError, "cannot unpack non-iterable %.200s object",
                         Py_TYPE(seq)->tp_name);
        }
        return -1;
    }
    PyObject *extra;
    int got = 0;
    if ((*a = PyIter_Next(it)) != NULL) {
        got = 1;
        if ((*b = PyIter_Next(it)) != NULL)
            got = 2;
    }
    if (got < 2) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_ValueError, "not enough values to unpack (expected 2, got %d)", got);
        goto error;
    }
    extra = PyIter_Next(it);
    if (extra != NULL) {
        Py_DECREF(extra);
#if PY_VERSION_HEX >= 0x030E0000
        /* 3.14's unpacking gives the length of an exact list, tuple or dict. */
        if (PyList_CheckExact(seq) || PyTuple_CheckExact(seq) || PyDict_CheckExact(seq))
            PyErr_Format(PyExc_ValueError, "too many values to unpack (expected 2, got %zd)",
                         PyDict_CheckExact(seq) ? PyDict_GET_SIZE(seq) : Py_SIZE(seq));
        else
#endif
            PyErr_SetString(PyExc_ValueError, "too many values to unpack (expected 2)");
        goto error;
    }
    if (PyErr_Occurred())
        goto error;
    Py_DECREF(it);
    return 0;
error:
    Py_DECREF(it);
    Py_CLEAR(*a);
    Py_CLEAR(*b);
    return -1;
}

/* `for key, value in slotstate.items(): setattr(y, key, value)` */
static int set_slot_state(copium_protocol *P, PyObject *y, PyObject *slotstate)
{
    PyObject *key, *value;
    if (PyDict_CheckExact(slotstate)) {
        copium_dictiter it;
        copium_dictiter_init(&it, slotstate);
        int rc;
        while ((rc = copium_dictiter_next(&it, &key, &value)) > 0) {
            Py_INCREF(key); /* setattr may run code that changes the dict */
            Py_INCREF(value);
            rc = PyObject_SetAttr(y, key, value);
            Py_DECREF(key);
            Py_DECREF(value);
            if (rc < 0)
                return -1;
        }
        return rc;
    }
    PyObject *items = PyObject_CallMethodNoArgs(slotstate, P->names.items);
    if (items == NULL)
        return -1;
    PyObject *it = PyObject_GetIter(items), *item;
    Py_DECREF(items);
    if (it == NULL)
        return -1;
    while ((item = PyIter_Next(it)) != NULL) {
        int rc = copium_unpack2(item, &key, &value);
        Py_DECREF(item);
        if (rc == 0) {
            rc = PyObject_SetAttr(y, key, value);
            Py_DECREF(key);
            Py_DECREF(value);
        }
        if (rc < 0) {
            Py_DECREF(it);
            return -1;
        }
    }
    Py_DECREF(it);
    return PyErr_Occurred() ? -1 : 0;
}

int copium_update_dict(copium_protocol *P, PyObject *y, PyObject *state)
{
    PyObject *dict = PyObject_GetAttr(y, P->names.dict);
    if (dict == NULL)
        return -1;
    int rc;
    if (PyDict_CheckExact(dict) && PyDict_CheckExact(state)) {
        rc = PyDict_Update(dict, state); /* what dict.update does with an exact dict */
    } else {
        PyObject *r = PyObject_CallMethodOneArg(dict, P->names.update, state);
        rc = r ? 0 : -1;
        Py_XDECREF(r);
    }
    Py_DECREF(dict);
    return rc;
}

/* `y.__setstate__(state)` when y's type holds a Python function of that name and instances
 * use generic attribute access: hasattr is then true whatever the instance dict holds, and
 * the vectorcall finds the same callable getattr would, without a bound method. 1 when it
 * called (*result: 0 or -1), 0 when the general path must decide. */
static int setstate_direct(copium_protocol *P, PyObject *y, PyObject *state, int *result)
{
    PyTypeObject *tp = Py_TYPE(y);
    if (tp->tp_getattro != PyObject_GenericGetAttr)
        return 0;
    PyObject *f = copium_type_lookup(tp, P->names.setstate);
    if (f == NULL || !PyFunction_Check(f))
        return 0;
    PyObject *args[] = {y, state};
    PyObject *r = PyObject_VectorcallMethod(P->names.setstate, args, 2, NULL);
    Py_XDECREF(r);
    *result = r ? 0 : -1;
    return 1;
}

/* The state step of _reconstruct, with state already deep-copied when deep (x and deep only
 * name the culprit of a failure). */
static int apply_state(copium_protocol *P, PyObject *x, int deep, PyObject *y, PyObject *state)
{
    PyObject *setstate;
    int rc;
    if (setstate_direct(P, y, state, &rc)) {
        if (rc < 0)
            copium_culprit(COPIUM_PART_SETSTATE, x, deep, y, state, NULL);
        return rc;
    }
    rc = copium_get_optional_attr(y, P->names.setstate, &setstate);
    if (rc < 0)
        return -1;
    if (rc > 0) { /* hasattr(y, '__setstate__'): y.__setstate__(state) */
        PyObject *r = PyObject_CallOneArg(setstate, state);
        if (r == NULL)
            copium_culprit(COPIUM_PART_SETSTATE, x, deep, y, state, setstate);
        Py_DECREF(setstate);
        Py_XDECREF(r);
        return r ? 0 : -1;
    }
    PyObject *dictstate = NULL, *slotstate = NULL;
    Py_ssize_t len = -2;
    if (PyTuple_CheckExact(state))
        len = PyTuple_GET_SIZE(state);
    else if (PyTuple_Check(state) && (len = PyObject_Size(state)) < 0)
        return -1; /* a tuple subclass's own __len__ */
    if (len == 2) {
        if (copium_unpack2(state, &dictstate, &slotstate) < 0)
            return -1;
    } else {
        dictstate = Py_NewRef(state);
    }
    rc = 0;
    if (dictstate != Py_None && (rc = copium_update_dict(P, y, dictstate)) < 0)
        copium_culprit(slotstate ? COPIUM_PART_DICTSTATE_OF : COPIUM_PART_DICTSTATE, x, deep, y,
                       dictstate, NULL);
    if (rc == 0 && slotstate != NULL && slotstate != Py_None &&
        (rc = set_slot_state(P, y, slotstate)) < 0)
        copium_culprit(COPIUM_PART_SLOTSTATE, x, deep, y, slotstate, NULL);
    Py_DECREF(dictstate);
    Py_XDECREF(slotstate);
    return rc;
}

/* `for item in listiter: y.append(deepcopy(item, memo))` */
static int append_items(copium_ctx *ctx, PyObject *x, PyObject *y, PyObject *listiter)
{
    copium_protocol *P = copium_proto_of(ctx);
    PyObject *it = PyObject_GetIter(listiter), *item;
    if (it == NULL) {
        copium_culprit(COPIUM_PART_LISTITEMS, x, ctx != NULL, y, listiter, NULL);
        return -1;
    }
    while ((item = PyIter_Next(it)) != NULL) {
        if (ctx != NULL) {
            PyObject *copy = copium_deepcopy_child(ctx, item);
            Py_SETREF(item, copy);
            if (item == NULL)
                goto error;
        }
        PyObject *r = PyObject_CallMethodOneArg(y, P->names.append, item);
        Py_DECREF(item);
        if (r == NULL) {
            copium_culprit(COPIUM_PART_APPEND, x, ctx != NULL, y, listiter, NULL);
            goto error;
        }
        Py_DECREF(r);
    }
    if (PyErr_Occurred())
        goto error;
    Py_DECREF(it);
    return 0;
error:
    Py_DECREF(it);
    return -1;
}

/* `for key, value in dictiter: y[deepcopy(key)] = deepcopy(value)`, the key copied first (two
 * separate statements in _reconstruct). */
static int set_items(copium_ctx *ctx, PyObject *x, PyObject *y, PyObject *dictiter)
{
    PyObject *it = PyObject_GetIter(dictiter), *item;
    if (it == NULL) {
        copium_culprit(COPIUM_PART_DICTITEMS, x, ctx != NULL, y, dictiter, NULL);
        return -1;
    }
    while ((item = PyIter_Next(it)) != NULL) {
        PyObject *key, *value;
        int rc = copium_unpack2(item, &key, &value);
        if (rc < 0)
            copium_culprit(COPIUM_PART_DICTITEM_PAIR, x, ctx != NULL, y, item, NULL);
        Py_DECREF(item);
        if (rc < 0)
            goto error;
        if (ctx != NULL) {
            Py_SETREF(key, copium_deepcopy_child(ctx, key));
            if (key != NULL)
                Py_SETREF(value, copium_deepcopy_child(ctx, value));
        }
        rc = (key && value) ? PyObject_SetItem(y, key, value) : -1;
        if (rc < 0 && key && value)
            copium_culprit(COPIUM_PART_SETITEM, x, ctx != NULL, y, dictiter, NULL);
        Py_XDECREF(key);
        Py_XDECREF(value);
        if (rc < 0)
            goto error;
    }
    if (PyErr_Occurred())
        goto error;
    Py_DECREF(it);
    return 0;
error:
    Py_DECREF(it);
    return -1;
}

PyObject *copium_reconstruct_parts(copium_ctx *ctx, PyObject *x, copium_hash_t hash, PyObject *func,
                                   PyObject *args, PyObject *state, PyObject *listiter,
                                   PyObject *dictiter)
{
    copium_protocol *P = copium_proto_of(ctx);
    PyObject *callargs, *y = NULL;
    int copy_args = 0;
    if (ctx != NULL && (copy_args = PyObject_IsTrue(args)) < 0) /* `if deep and args:` */
        return NULL;
    callargs = copy_args ? deepcopy_args(ctx, args) : star_args(P, func, args);
    if (callargs == NULL) {
        copium_culprit(COPIUM_PART_ARGS, x, ctx != NULL, NULL, args, NULL);
        return NULL;
    }
    if (func == P->stdlib.orig_newobj && func != NULL)
        y = newobj(P, callargs);
    else
        y = PyObject_Call(func, callargs, NULL);
    if (y == NULL)
        copium_culprit(COPIUM_PART_CALLABLE, x, ctx != NULL, NULL, func, callargs);
    Py_DECREF(callargs);
    if (y == NULL)
        return NULL;
    if (ctx != NULL && copium_memo_remember(ctx, x, hash, y) < 0)
        goto error;
    if (state != NULL && state != Py_None) {
        PyObject *st = ctx != NULL ? copium_deepcopy_child(ctx, state) : Py_NewRef(state);
        if (st == NULL)
            goto error;
        int rc = apply_state(P, x, ctx != NULL, y, st);
        Py_DECREF(st);
        if (rc < 0)
            goto error;
    }
    if (listiter != NULL && listiter != Py_None && append_items(ctx, x, y, listiter) < 0)
        goto error;
    if (dictiter != NULL && dictiter != Py_None && set_items(ctx, x, y, dictiter) < 0)
        goto error;
    return y;
error:
    Py_DECREF(y);
    return NULL;
}

PyObject *copium_reconstruct(copium_ctx *ctx, PyObject *x, copium_hash_t hash, PyObject *rv)
{
    PyObject *seq;
    if (PyTuple_CheckExact(rv)) {
        seq = Py_NewRef(rv);
    } else {
        /* `_reconstruct(x, memo, *rv)` extends the positional arguments with rv. */
        if (Py_TYPE(rv)->tp_iter == NULL && !PySequence_Check(rv)) {
            PyErr_Format(PyExc_TypeError, "Value after * must be an iterable, not %.200s",
                         Py_TYPE(rv)->tp_name);
            copium_culprit(COPIUM_PART_VALUE, x, ctx != NULL, NULL, rv, NULL);
            return NULL;
        }
        seq = PySequence_Tuple(rv);
        if (seq == NULL)
            return NULL;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(seq);
    PyObject *y = NULL;
    if (n == 0) {
        PyErr_SetString(PyExc_TypeError, "_reconstruct() missing 2 required positional "
                                         "arguments: 'func' and 'args'");
    } else if (n == 1) {
        PyErr_SetString(PyExc_TypeError,
                        "_reconstruct() missing 1 required positional argument: 'args'");
    } else if (n > 5) {
        PyErr_Format(PyExc_TypeError,
                     "_reconstruct() takes from 4 to 7 positional arguments but %zd were given",
                     n + 2);
    }
    if (n < 2 || n > 5) {
        copium_culprit(COPIUM_PART_VALUE, x, ctx != NULL, NULL, rv, seq);
    } else {
        PyObject **p = &PyTuple_GET_ITEM(seq, 0);
        y = copium_reconstruct_parts(ctx, x, hash, p[0], p[1], n > 2 ? p[2] : NULL,
                                     n > 3 ? p[3] : NULL, n > 4 ? p[4] : NULL);
    }
    Py_DECREF(seq);
    return y;
}
