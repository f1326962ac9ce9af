/* Copies under construction that are ahead of stdlib's order. A handler may build a copy
 * faster by starting from a clone of the original and replacing its parts in place (the dict
 * handler does). Until it is done, such a copy holds some of the original's parts where
 * stdlib's copy, built one item at a time, would not yet have those items at all. No Python
 * code can tell while none runs; before any may run (the points where the collector's pause
 * also ends, see engine.h's copium_before_python_code) every pending copy is settled: brought
 * to exactly the state stdlib's copy has at that point, after which its handler goes on the
 * ordinary way. Pending copies form a stack in the call's context, innermost on top. */
#ifndef COPIUM_PENDING_H
#define COPIUM_PENDING_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

typedef struct copium_pending copium_pending;

struct copium_pending {
    /* Bring the copy to stdlib's state. 0, or -1 with an exception set. */
    int (*settle)(copium_pending *self);
    copium_pending *outer; /* NULL once settled */
    /* Set (before settle runs) once the copy left the stack: from then on its handler must
     * build the ordinary way, and must not touch the copy's internals again. */
    int settled;
};

/* The stack, in the call's context, and how pending copies have fared in the call. */
typedef struct {
    copium_pending *top;
    Py_ssize_t begun;   /* pending copies started */
    Py_ssize_t settled; /* of those, settled before they were done */
} copium_pending_stack;

/* Settling costs more than the fast build saves: once more than one pending copy in four of a
 * call has been settled (past the first few), its data keeps running Python code below its
 * containers, and handlers should build the ordinary way for the rest of the call. */
static inline int copium_pending_worthwhile(const copium_pending_stack *stack)
{
    return stack->settled * 4 <= stack->begun + 8;
}

static inline void copium_pending_push(copium_pending_stack *stack, copium_pending *p)
{
    stack->begun++;
    p->settled = 0;
    p->outer = stack->top;
    stack->top = p;
}

/* Take p off the stack when its copy is done or abandoned. A settled p is off it already, and
 * the stack is then empty again (whatever was pushed since has been popped): the store is
 * unconditional all the same, so that no compiler can think p's address outlives it. */
static inline void copium_pending_pop(copium_pending_stack *stack, copium_pending *p)
{
    assert(p->settled ? stack->top == NULL && p->outer == NULL : stack->top == p);
    stack->top = p->outer;
}

/* Settle every pending copy, innermost first, and empty the stack. After a failure the rest
 * are only marked settled: the exception makes their handlers drop them. 0, or -1. */
int copium_pending_settle_all(copium_pending_stack *stack);

#endif
