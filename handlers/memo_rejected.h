/* What happens when a __deepcopy__(memo) method rejects the memo it is given
 * (copium.config's on_memo_rejected): raise (the default, stdlib's behaviour), or warn and call
 * it once more with a plain dict copy of the memo.
 *
 * copium itself always hands __deepcopy__ an exact dict (its own memo is one as soon as Python
 * code can see it), so a method can only reject a memo that the caller of deepcopy() passed in:
 * a mapping that is not an exact dict (a dict subclass, a custom mapping), which a C or PyO3
 * __deepcopy__ may refuse with TypeError. */
#ifndef COPIUM_MEMO_REJECTED_H
#define COPIUM_MEMO_REJECTED_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* 0: raise; 1: warn and retry with a dict copy. Set by the configuration (python/config.c). */
extern int copium_memo_rejected_retry;

/* copier(memo), for the bound __deepcopy__ method of an object: when it raises TypeError,
 * retrying is configured and memo is not an exact dict, warn (RuntimeWarning) and call it once
 * more with dict(memo); entries the retry added are then copied back into memo (the copy
 * itself kept alive there), so that the rest of the deep copy sees them. New reference, or
 * NULL with an exception set. */
PyObject *copium_call_deepcopy_method(PyObject *copier, PyObject *memo);

#endif
