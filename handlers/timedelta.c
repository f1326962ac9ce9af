/* The handler of datetime.timedelta (exact type): the copy made with the datetime C API's
 * constructor from the original's fields, then memoized, as stdlib's reduce path would make it,
 * except for a zero one (what the datetime handlers share, and why: datetime_capi.c). */
#include "handlers.h"

#include "datetime_capi.h"

static PyObject *timedelta_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash, void *data)
{
    PyDateTime_CAPI *PyDateTimeAPI = copium_handlers_of(ctx)->datetime_api;
    (void)data;
    /* A zero timedelta too: from 3.13 the constructor stdlib calls returns a shared zero,
     * which the C API's constructor does not. */
    if (copium_ctx_python_memo(ctx) != NULL ||
        (PyDateTime_DELTA_GET_DAYS(obj) == 0 && PyDateTime_DELTA_GET_SECONDS(obj) == 0 &&
         PyDateTime_DELTA_GET_MICROSECONDS(obj) == 0))
        return copium_deepcopy_default(ctx, obj, hash);
    PyObject *copy = PyDateTimeAPI->Delta_FromDelta(
        PyDateTime_DELTA_GET_DAYS(obj), PyDateTime_DELTA_GET_SECONDS(obj),
        PyDateTime_DELTA_GET_MICROSECONDS(obj), 1, Py_TYPE(obj));
    return copium_datetime_remember(ctx, obj, hash, copy);
}

/* Quiet; shallow copies keep stdlib's protocol (datetime_capi.h). */
const copium_handler copium_timedelta_handler = {
    .struct_size = sizeof(copium_handler),
    .name = "timedelta",
    .flags = COPIUM_HANDLER_QUIET,
    .deepcopy = timedelta_deepcopy,
};
