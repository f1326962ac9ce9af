/* The stack of pending copies (core/pending.h): settling visits every pending copy innermost
 * first and empties the stack; after a settle fails the outer ones are marked settled without
 * their settle running (their handlers drop them on the exception); taking a copy off the
 * stack is LIFO for unsettled ones and a no-op for settled ones; starting pending copies stays
 * worthwhile while few of a call's are settled. */
#include "embed.h"

#include "../../core/pending.h"

typedef struct {
    copium_pending pending; /* first, as a handler embeds it */
    int id;
    int fail;
} probe;

static int order[8];
static int norder;

static int probe_settle(copium_pending *p)
{
    probe *pr = (probe *)p;
    order[norder++] = pr->id;
    if (pr->fail) {
        PyErr_SetString(PyExc_MemoryError, "probe");
        return -1;
    }
    return 0;
}

static void push3(copium_pending_stack *stack, probe *p, int failing)
{
    for (int i = 0; i < 3; i++) {
        p[i] = (probe){.pending = {.settle = probe_settle}, .id = i, .fail = i == failing};
        copium_pending_push(stack, &p[i].pending);
        assert_int_equal(p[i].pending.settled, 0);
        assert_ptr_equal(stack->top, &p[i].pending);
    }
}

static void test_settle_all_innermost_first(void **state)
{
    (void)state;
    copium_pending_stack stack = {NULL};
    probe p[3];
    push3(&stack, p, -1);
    norder = 0;
    assert_int_equal(copium_pending_settle_all(&stack), 0);
    assert_null(stack.top);
    assert_int_equal(norder, 3);
    assert_int_equal(order[0], 2);
    assert_int_equal(order[1], 1);
    assert_int_equal(order[2], 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(p[i].pending.settled, 1);
        copium_pending_pop(&stack, &p[i].pending); /* settled: already off the stack */
        assert_null(stack.top);
    }
    assert_null(PyErr_Occurred());
}

static void test_failure_marks_the_rest_settled(void **state)
{
    (void)state;
    copium_pending_stack stack = {NULL};
    probe p[3];
    push3(&stack, p, 1);
    norder = 0;
    assert_int_equal(copium_pending_settle_all(&stack), -1);
    assert_true(PyErr_ExceptionMatches(PyExc_MemoryError));
    PyErr_Clear();
    assert_null(stack.top);
    assert_int_equal(norder, 2); /* 2 settled, 1 failed, 0 only marked */
    assert_int_equal(order[0], 2);
    assert_int_equal(order[1], 1);
    for (int i = 0; i < 3; i++)
        assert_int_equal(p[i].pending.settled, 1);
}

static void test_pop_is_lifo(void **state)
{
    (void)state;
    copium_pending_stack stack = {NULL};
    probe p[3];
    push3(&stack, p, -1);
    copium_pending_pop(&stack, &p[2].pending);
    assert_ptr_equal(stack.top, &p[1].pending);
    /* A copy pushed after a settle starts a new stack; settling again reaches only it. */
    norder = 0;
    assert_int_equal(copium_pending_settle_all(&stack), 0);
    assert_int_equal(norder, 2);
    probe q = {.pending = {.settle = probe_settle}, .id = 7};
    copium_pending_push(&stack, &q.pending);
    assert_null(q.pending.outer);
    norder = 0;
    assert_int_equal(copium_pending_settle_all(&stack), 0);
    assert_int_equal(norder, 1);
    assert_int_equal(order[0], 7);
}

static void test_worthwhile_while_settling_is_rare(void **state)
{
    (void)state;
    copium_pending_stack stack = {NULL};
    probe p = {.pending = {.settle = probe_settle}, .id = 0};
    /* Every copy settled: the first few are allowed, then no more. */
    int allowed = 0;
    while (copium_pending_worthwhile(&stack) && allowed < 100) {
        copium_pending_push(&stack, &p.pending);
        assert_int_equal(copium_pending_settle_all(&stack), 0);
        allowed++;
    }
    assert_int_equal(allowed, 3);
    assert_int_equal(stack.begun, 3);
    assert_int_equal(stack.settled, 3);
    /* Copies done without settling bring it back: one settled in five stays allowed. */
    for (int i = 0; i < 12; i++) {
        copium_pending_push(&stack, &p.pending);
        copium_pending_pop(&stack, &p.pending);
    }
    assert_true(copium_pending_worthwhile(&stack));
    assert_null(stack.top);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_settle_all_innermost_first),
        cmocka_unit_test(test_failure_marks_the_rest_settled),
        cmocka_unit_test(test_pop_is_lifo),
        cmocka_unit_test(test_worthwhile_while_settling_is_rare),
    };
    return cmocka_run_group_tests_name("pending", tests, embed_setup, embed_teardown);
}
