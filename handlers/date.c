/* The handler of datetime.date (exact type): the copy made with the datetime C API's
 * constructor from the original's fields, then memoized, as stdlib's reduce path would make it
 * (what the datetime handlers share, and why: datetime_capi.c). */
#include "handlers.h"

#include "datetime_capi.h"

static PyObject *date_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash, void *data)
{
    PyDateTime_CAPI *PyDateTimeAPI = copium_handlers_of(ctx)->datetime_api;
    (void)data;
    if (copium_ctx_python_memo(ctx) != NULL)
        return copium_deepcopy_default(ctx, obj, hash);
    PyObject *copy = PyDateTimeAPI->Date_FromDate(
        PyDateTime_GET_YEAR(obj), PyDateTime_GET_MONTH(obj), PyDateTime_GET_DAY(obj), Py_TYPE(obj));
    return copium_datetime_remember(ctx, obj, hash, copy);
}

/* Quiet; shallow copies keep stdlib's protocol (datetime_capi.h). */
const copium_handler copium_date_handler = {
    .struct_size = sizeof(copium_handler),
    .name = "date",
    .flags = COPIUM_HANDLER_QUIET,
    .deepcopy = date_deepcopy,
};
