/* Settling the pending copies of a call (see pending.h). */
#include "pending.h"

int copium_pending_settle_all(copium_pending_stack *stack)
{
    int rc = 0;
    copium_pending *p = stack->top;
    stack->top = NULL;
    while (p != NULL) {
        copium_pending *outer = p->outer;
        p->outer = NULL;
        p->settled = 1;
        stack->settled++;
        if (rc == 0 && p->settle(p) < 0)
            rc = -1;
        p = outer;
    }
    return rc;
}
