/* What happens when a __deepcopy__(memo) method rejects the memo it is given
 * (copium.config's on_incompatible, also spelled on_memo_rejected): raise (the default,
 * stdlib's behaviour), warn and call it once more with a plain dict copy of the memo, or do
 * that silently. Warnings whose error matches an entry of suppress_warnings are not shown.
 *
 * copium itself always hands __deepcopy__ an exact dict (its own memo is one as soon as Python
 * code can see it), so a method can only reject a memo that the caller of deepcopy() passed in:
 * a mapping that is not an exact dict (a dict subclass, a custom mapping), which a C or PyO3
 * __deepcopy__ may refuse with TypeError. */
#ifndef COPIUM_MEMO_REJECTED_H
#define COPIUM_MEMO_REJECTED_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

typedef enum {
    COPIUM_MEMO_REJECTED_RAISE = 0,
    COPIUM_MEMO_REJECTED_WARN = 1,
    COPIUM_MEMO_REJECTED_SILENT = 2,
} copium_memo_rejected_mode;

/* The setting (python/config.c sets it). Plain C data, no Python object: the entries of
 * suppress_warnings are kept as UTF-8 copies. */
typedef struct {
    copium_memo_rejected_mode mode;
    char **suppressed; /* PyMem, each entry PyMem too */
    Py_ssize_t nsuppressed;
} copium_memo_rejected_config;

/* Replace the setting: mode, and suppressed, a tuple of str (copied). 0, or -1 with an error
 * (the setting unchanged). */
int copium_memo_rejected_set(copium_memo_rejected_config *config, copium_memo_rejected_mode mode,
                             PyObject *suppressed);

/* The suppressed entries as a new tuple of str, or NULL with an error. */
PyObject *copium_memo_rejected_suppressed(const copium_memo_rejected_config *config);

/* Release the copies (at finalisation). */
void copium_memo_rejected_clear(copium_memo_rejected_config *config);

/* copier(memo), for the bound __deepcopy__ method of an object: when it raises TypeError,
 * retrying is configured and memo is not an exact dict, warn (RuntimeWarning; not in silent
 * mode nor for a suppressed error) and call it once more with dict(memo); entries the retry
 * added are then copied back into memo (the copy itself kept alive there), so that the rest of
 * the deep copy sees them. New reference, or NULL with an exception set. */
PyObject *copium_call_deepcopy_method(const copium_memo_rejected_config *config, PyObject *copier,
                                      PyObject *memo);

#endif
