/* The handler of datetime.datetime (exact type): the copy made with the datetime C API's
 * constructor from the original's fields and the deep copy of its tzinfo, then memoized, as
 * stdlib's reduce path would make it (what the datetime handlers share, and why:
 * datetime_capi.c). */
#include "handlers.h"

#include "datetime_capi.h"

static PyObject *datetime_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash, void *data)
{
    PyDateTime_CAPI *PyDateTimeAPI = copium_handlers_of(ctx)->datetime_api;
    (void)data;
    if (copium_ctx_python_memo(ctx) != NULL)
        return copium_deepcopy_default(ctx, obj, hash);
    PyObject *tzinfo = copium_datetime_copy_tzinfo(ctx, PyDateTime_DATE_GET_TZINFO(obj));
    if (tzinfo == NULL)
        return NULL;
    PyObject *copy = PyDateTimeAPI->DateTime_FromDateAndTimeAndFold(
        PyDateTime_GET_YEAR(obj), PyDateTime_GET_MONTH(obj), PyDateTime_GET_DAY(obj),
        PyDateTime_DATE_GET_HOUR(obj), PyDateTime_DATE_GET_MINUTE(obj),
        PyDateTime_DATE_GET_SECOND(obj), PyDateTime_DATE_GET_MICROSECOND(obj), tzinfo,
        PyDateTime_DATE_GET_FOLD(obj), Py_TYPE(obj));
    Py_DECREF(tzinfo);
    return copium_datetime_remember(ctx, obj, hash, copy);
}

/* Quiet; shallow copies keep stdlib's protocol (datetime_capi.h). */
const copium_handler copium_datetime_handler = {
    .struct_size = sizeof(copium_handler),
    .name = "datetime",
    .flags = COPIUM_HANDLER_QUIET,
    .deepcopy = datetime_deepcopy,
};
