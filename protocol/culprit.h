/* Errors that name the culprit. When a malformed reduce value (or a part of it: the callable,
 * its arguments, the state, the list or dict items), a __setstate__, a copyreg reducer or the
 * arguments of copyreg.__newobj__ make a copy fail, the exception stdlib raises stays exactly
 * as it is (type, message, traceback) and a copy.Error naming the class and what was wrong
 * becomes its __cause__ ("the dict state (item 2) from Foo.__reduce__() must be None, a dict
 * or mapping, ...; got list").
 *
 * copium_culprit is called with that exception set, at the point where a step of the protocol
 * failed (never where copying a child failed: the child names its own culprit). It looks at
 * the part the step used, by its type only (no Python code runs for the diagnosis), and
 * attaches a cause only when that part explains the failure: the part is not of the kind the
 * step needs (not callable where it is called, not iterable where it is iterated, no __dict__,
 * append or item assignment where the step uses them, not a class where copyreg.__newobj__
 * needs one), or the step's C code refused it (an exception without a traceback: an error
 * raised inside the program's own Python code has one, which names that code). An exception
 * that already has a cause, or is not a TypeError, ValueError or AttributeError, is left
 * alone. The exception is never replaced; if making the cause fails, the exception goes on
 * without one. */
#ifndef COPIUM_CULPRIT_H
#define COPIUM_CULPRIT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

typedef enum {
    COPIUM_PART_VALUE,         /* the reduce value itself (what: rv; other: it as a tuple) */
    COPIUM_PART_CALLABLE,      /* item 0 called (what: func; other: the argument tuple) */
    COPIUM_PART_ARGS,          /* item 1 made into the argument tuple (what: args) */
    COPIUM_PART_SETSTATE,      /* y.__setstate__(state) (what: state; other: the bound method) */
    COPIUM_PART_DICTSTATE,     /* y.__dict__.update(state) (what: state) */
    COPIUM_PART_DICTSTATE_OF,  /* the same with the dict half of a (dict, slots) state */
    COPIUM_PART_SLOTSTATE,     /* setattr(y, name, value) for the slot half (what: it, or NULL
                                * for the one object.c gathers itself) */
    COPIUM_PART_LISTITEMS,     /* iter(item 3) (what: listitems) */
    COPIUM_PART_APPEND,        /* y.append(item) for an item of item 3 */
    COPIUM_PART_DICTITEMS,     /* iter(item 4) (what: dictitems) */
    COPIUM_PART_DICTITEM_PAIR, /* key, value = item (what: the item) */
    COPIUM_PART_SETITEM,       /* y[key] = value for an item of item 4 */
    COPIUM_PART_TABLE,         /* copyreg.dispatch_table[cls](x) (what: the entry) */
    COPIUM_PART_REDUCE_EX,     /* x.__reduce_ex__(4) (what: the attribute) */
    COPIUM_PART_REDUCE,        /* x.__reduce__() (what: the attribute) */
} copium_part;

/* With an exception set by the step `part` of copying x (deep or shallow; y the new object
 * where there is one, else NULL), attach the cause described above when the part explains it.
 * Leaves the same exception set. */
void copium_culprit(copium_part part, PyObject *x, int deep, PyObject *y, PyObject *what,
                    PyObject *other);

#endif
