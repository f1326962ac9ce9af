/* The handlers of the datetime module's C types, datetime, date, time and timedelta (exact
 * types; subclasses take stdlib's protocol): what they share, while each vtable has a file of
 * its own (datetime.c, date.c, time.c, timedelta.c). Stdlib deep-copies them through their reduce
 * methods: the pickled state (bytes, or three ints for timedelta) is an atom, the tzinfo is
 * deep-copied, and calling the type with them gives an equal new object, memoized. These
 * handlers make the same object with the datetime C API directly: the tzinfo through the engine
 * (same memo entries), then the constructor, then memo[x] = y. The reduce path also memoizes
 * nothing else, so the native memo ends with stdlib's entries; while a Python memo is in use the
 * default path runs instead, step for step. The datetime module is imported only when the
 * resolver first meets one of its classes. */
#include "handlers.h"

#include <string.h>

#include "datetime_capi.h"

PyObject *copium_datetime_copy_tzinfo(copium_ctx *ctx, PyObject *tzinfo)
{
    PyDateTime_CAPI *PyDateTimeAPI = copium_handlers_of(ctx)->datetime_api;
    if (tzinfo == Py_None)
        return Py_NewRef(Py_None);
    PyObject *copy = copium_deepcopy_child(ctx, tzinfo);
    if (copy != NULL && copy != Py_None && !PyTZInfo_Check(copy)) {
        Py_DECREF(copy);
        PyErr_SetString(PyExc_TypeError, "bad tzinfo state arg");
        return NULL;
    }
    return copy;
}

PyObject *copium_datetime_remember(copium_ctx *ctx, PyObject *obj, copium_hash_t hash,
                                   PyObject *copy)
{
    if (copy != NULL && copium_memo_store(ctx, obj, hash, copy) < 0)
        Py_CLEAR(copy);
    return copy;
}

int copium_datetime_is_handler(const copium_handler *h)
{
    /* The registry holds copies of the vtables: compare what they contain. */
    const copium_handler *const ours[] = {&copium_datetime_handler, &copium_date_handler,
                                          &copium_time_handler, &copium_timedelta_handler};
    for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++) {
        if (h->name == ours[i]->name && h->flags == ours[i]->flags &&
            h->deepcopy == ours[i]->deepcopy && h->copy == ours[i]->copy)
            return 1;
    }
    return 0;
}

const copium_handler *copium_datetime_handler_for(copium_handlers_state *H, PyTypeObject *type)
{
    /* The C types are named "datetime.<class>"; nothing else is looked at further. */
    if (strncmp(type->tp_name, "datetime.", 9) != 0)
        return NULL;
    if (H->datetime_api == NULL) {
        /* This interpreter's C API (PyDateTime_IMPORT, into the state rather than a static). */
        H->datetime_api = PyCapsule_Import(PyDateTime_CAPSULE_NAME, 0);
        if (H->datetime_api == NULL) {
            PyErr_Clear(); /* no C datetime: the default path serves the pure-Python one */
            return NULL;
        }
    }
    PyDateTime_CAPI *PyDateTimeAPI = H->datetime_api;
    if (type == PyDateTimeAPI->DateTimeType)
        return &copium_datetime_handler;
    if (type == PyDateTimeAPI->DateType)
        return &copium_date_handler;
    if (type == PyDateTimeAPI->TimeType)
        return &copium_time_handler;
    if (type == PyDateTimeAPI->DeltaType)
        return &copium_timedelta_handler;
    return NULL;
}

/* ---- for the plan (batch/plan.c) --------------------------------------------------------- */

/* The handlers' constructions, from a source of the exact type (the original: these objects
 * cannot change) and the copy of its tzinfo (NULL: it has none). */
static PyObject *tzinfo_or_none(copium_handlers_state *H, PyObject *tzinfo)
{
    PyDateTime_CAPI *PyDateTimeAPI = H->datetime_api;
    if (tzinfo == NULL || tzinfo == Py_None)
        return Py_None;
    if (!PyTZInfo_Check(tzinfo)) {
        PyErr_SetString(PyExc_TypeError, "bad tzinfo state arg");
        return NULL;
    }
    return tzinfo;
}

static PyObject *datetime_rebuild(copium_handlers_state *H, PyObject *src, PyObject *tzinfo)
{
    PyDateTime_CAPI *PyDateTimeAPI = H->datetime_api;
    if ((tzinfo = tzinfo_or_none(H, tzinfo)) == NULL)
        return NULL;
    return PyDateTimeAPI->DateTime_FromDateAndTimeAndFold(
        PyDateTime_GET_YEAR(src), PyDateTime_GET_MONTH(src), PyDateTime_GET_DAY(src),
        PyDateTime_DATE_GET_HOUR(src), PyDateTime_DATE_GET_MINUTE(src),
        PyDateTime_DATE_GET_SECOND(src), PyDateTime_DATE_GET_MICROSECOND(src), tzinfo,
        PyDateTime_DATE_GET_FOLD(src), Py_TYPE(src));
}

static PyObject *time_rebuild(copium_handlers_state *H, PyObject *src, PyObject *tzinfo)
{
    PyDateTime_CAPI *PyDateTimeAPI = H->datetime_api;
    if ((tzinfo = tzinfo_or_none(H, tzinfo)) == NULL)
        return NULL;
    return PyDateTimeAPI->Time_FromTimeAndFold(
        PyDateTime_TIME_GET_HOUR(src), PyDateTime_TIME_GET_MINUTE(src),
        PyDateTime_TIME_GET_SECOND(src), PyDateTime_TIME_GET_MICROSECOND(src), tzinfo,
        PyDateTime_TIME_GET_FOLD(src), Py_TYPE(src));
}

static PyObject *date_rebuild(copium_handlers_state *H, PyObject *src, PyObject *unused)
{
    PyDateTime_CAPI *PyDateTimeAPI = H->datetime_api;
    (void)unused;
    return PyDateTimeAPI->Date_FromDate(PyDateTime_GET_YEAR(src), PyDateTime_GET_MONTH(src),
                                        PyDateTime_GET_DAY(src), Py_TYPE(src));
}

static PyObject *timedelta_rebuild(copium_handlers_state *H, PyObject *src, PyObject *unused)
{
    PyDateTime_CAPI *PyDateTimeAPI = H->datetime_api;
    (void)unused;
    return PyDateTimeAPI->Delta_FromDelta(PyDateTime_DELTA_GET_DAYS(src),
                                          PyDateTime_DELTA_GET_SECONDS(src),
                                          PyDateTime_DELTA_GET_MICROSECONDS(src), 1, Py_TYPE(src));
}

int copium_datetime_recipe(copium_handlers_state *H, const copium_handler *h, PyObject *obj,
                           copium_rebuild_fn *rebuild, PyObject **source, PyObject **child)
{
    PyDateTime_CAPI *PyDateTimeAPI = H->datetime_api;
    if (PyDateTimeAPI == NULL || !copium_datetime_is_handler(h))
        return 0;
    PyTypeObject *type = Py_TYPE(obj);
    *child = NULL;
    if (type == PyDateTimeAPI->DateTimeType) {
        *rebuild = datetime_rebuild;
        *child = PyDateTime_DATE_GET_TZINFO(obj);
    } else if (type == PyDateTimeAPI->TimeType) {
        *rebuild = time_rebuild;
        *child = PyDateTime_TIME_GET_TZINFO(obj);
    } else if (type == PyDateTimeAPI->DateType) {
        *rebuild = date_rebuild;
    } else if (type == PyDateTimeAPI->DeltaType &&
               (PyDateTime_DELTA_GET_DAYS(obj) != 0 || PyDateTime_DELTA_GET_SECONDS(obj) != 0 ||
                PyDateTime_DELTA_GET_MICROSECONDS(obj) != 0)) {
        *rebuild = timedelta_rebuild; /* a zero one takes stdlib's path, as in the handler */
    } else {
        return 0;
    }
    if (*child == Py_None)
        *child = NULL;
    *source = Py_NewRef(obj);
    return 1;
}
