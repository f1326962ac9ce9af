/* The dict handler. Deep copy follows stdlib's _deepcopy_dict: the new dict is memoized first,
 * then for each item the value is copied before the key (the evaluation order of
 * `y[deepcopy(key)] = deepcopy(value)`), into a copy that has exactly the size stdlib's
 * insertion-built copy has. Iteration reproduces a dict items iterator: a size change between
 * two steps raises "dictionary changed size during iteration", more items than the dict had
 * raises "dictionary keys changed during iteration", a value reassigned in place is simply read
 * when its turn comes.
 *
 * Two ways to build the copy. The ordinary one inserts the copied items into an empty dict, as
 * stdlib does. The fast one, when every key is an atom hashed in C: PyDict_Copy clones the
 * original's table (no hashing, no probing, no resize), then each value that is not an atom is
 * replaced in place by its copy. Such a copy is pending (core/pending.h) while it holds
 * original values: if anything may run Python code before it is complete, it is settled, made
 * exactly what stdlib's copy is at that point (the items copied so far, inserted into an
 * empty dict), and the rest is built the ordinary way. */
#include "handlers.h"

#include "../core/engine.h"
#include "chash.h"
#include "dict.h"
#include "dict_table.h"
#include "dictiter.h"

/* The clone's table must have exactly the size stdlib's insertion-built copy gets. It does
 * whenever the original was itself built by insertion without deletions (comprehensions,
 * literals, json, dict(zip(...)), fromkeys, copies); after deletions it may be larger. The
 * sizes of insertion-built dicts are measured once per size class on reference dicts (one
 * table for all-str keys, one for others: CPython sizes them differently): __sizeof__, and the
 * size of the hash index and the key kind as dict_table.h reads them, which is how a clone is
 * checked (a __sizeof__ call would cost more than a small copy). */
#define CLONE_MIN_ITEMS 16 /* without dict_table.h, where a clone needs __sizeof__ */
#define CLONE_MAX_ITEMS (1 << 20)
#define MAX_STEPS       64
#define SMALL_N         64 /* the step of every n below this is in a table: copies are mostly small */

typedef struct {
    Py_ssize_t covered; /* sizes are known for every n <= covered */
    int nsteps;         /* from step_n[i] on, the size is step_size[i] */
    int tables_known;   /* dict_table.h read every reference: step_slots and str_kind hold */
    int str_kind;       /* the key kind of the references' tables */
    Py_ssize_t step_n[MAX_STEPS];
    Py_ssize_t step_size[MAX_STEPS];
    Py_ssize_t step_slots[MAX_STEPS];
    signed char step_of_small[SMALL_N]; /* for n < SMALL_N and n <= covered */
} size_steps;

/* The measured sizes, per interpreter (the handlers' state's dict_sizes): the facts are the
 * same in every interpreter, but they are measured lazily, as copies of larger dicts need
 * them, and a table shared by interpreters that run at once would be written by several. */
struct copium_dict_sizes {
    size_steps steps_for[2]; /* [0]: keys of any type, [1]: all exact str */
};

int copium_handlers_state_init(copium_handlers_state *H)
{
    H->datetime_api = NULL;
    H->dict_sizes = PyMem_Calloc(1, sizeof(*H->dict_sizes));
    if (H->dict_sizes == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

void copium_handlers_state_fini(copium_handlers_state *H)
{
    PyMem_Free(H->dict_sizes);
    H->dict_sizes = NULL;
    H->datetime_api = NULL;
}

Py_ssize_t copium_dict_sizeof(PyObject *dict)
{
    PyObject *size = PyObject_CallMethod(dict, "__sizeof__", NULL);
    if (size == NULL)
        return -1;
    Py_ssize_t n = PyLong_AsSsize_t(size);
    Py_DECREF(size);
    return n;
}

/* Build a reference dict by insertion up to upto keys, recording where its size changes. The
 * table read through dict_table.h must change size exactly there too, or it is not used. */
static int measure_steps(size_steps *st, int str_keys, Py_ssize_t upto)
{
    PyObject *ref = PyDict_New();
    if (ref == NULL)
        return -1;
    st->nsteps = 0;
    st->covered = -1;
    st->tables_known = 1;
    Py_ssize_t last = -1, last_slots = -1;
    for (Py_ssize_t n = 0; n <= upto; n++) {
        if (n > 0) {
            PyObject *key = str_keys ? PyUnicode_FromFormat("%zd", n) : PyLong_FromSsize_t(n);
            int rc = key ? PyDict_SetItem(ref, key, Py_None) : -1;
            Py_XDECREF(key);
            if (rc < 0)
                goto error;
        }
        Py_ssize_t size = copium_dict_sizeof(ref);
        if (size < 0)
            goto error;
        copium_dict_entries e;
        Py_ssize_t slots = -1;
        if (n > 0 && copium_dict_entries_of(ref, &e)) {
            slots = e.slots;
            if (n == 1)
                st->str_kind = e.str_keys;
            else if (e.str_keys != st->str_kind)
                st->tables_known = 0;
        } else if (n > 0) {
            st->tables_known = 0;
        }
        if (size != last) {
            if (st->nsteps == MAX_STEPS)
                break;
            st->step_n[st->nsteps] = n;
            st->step_size[st->nsteps] = size;
            st->step_slots[st->nsteps++] = slots;
            last = size;
        } else if (n > 1 && slots != last_slots) {
            st->tables_known = 0;
        }
        last_slots = slots;
        st->covered = n;
        if (n < SMALL_N)
            st->step_of_small[n] = (signed char)(st->nsteps - 1);
    }
    Py_DECREF(ref);
    return 0;
error:
    Py_DECREF(ref);
    st->nsteps = 0;
    st->covered = -1;
    return -1;
}

/* The step of insertion-built dicts of n keys, or -1 when unknown (no error set). */
static int inserted_step(copium_handlers_state *H, Py_ssize_t n, int str_keys)
{
    size_steps *st = &H->dict_sizes->steps_for[str_keys];
    if (n < SMALL_N && n <= st->covered)
        return st->step_of_small[n];
    if (n > st->covered) {
        Py_ssize_t upto = st->covered > 0 ? st->covered : 64;
        while (upto < n)
            upto *= 2;
        if (measure_steps(st, str_keys, upto) < 0) {
            PyErr_Clear();
            return -1;
        }
        if (n > st->covered)
            return -1;
    }
    int step = -1;
    for (int i = 0; i < st->nsteps && st->step_n[i] <= n; i++)
        step = i;
    return step;
}

Py_ssize_t copium_dict_inserted_sizeof(copium_handlers_state *H, Py_ssize_t n, int str_keys)
{
    int step = inserted_step(H, n, str_keys);
    return step < 0 ? -1 : H->dict_sizes->steps_for[str_keys].step_size[step];
}

/* 1 when table e (n items) is the table stdlib's insertion-built copy would get. */
static int is_inserted_table(copium_handlers_state *H, const copium_dict_entries *e, Py_ssize_t n,
                             int str_keys)
{
    int step = inserted_step(H, n, str_keys);
    const size_steps *st = &H->dict_sizes->steps_for[str_keys];
    return step >= 0 && st->tables_known && e->slots == st->step_slots[step] &&
           e->str_keys == st->str_kind;
}

/* ---- the ordinary way ------------------------------------------------------------------- */

/* copy[deepcopy(key)] = value_copy: the rest of stdlib's step once the value is copied. 0 or
 * -1. */
static int insert_with_key_copy(copium_ctx *ctx, PyObject *copy, PyObject *key,
                                PyObject *value_copy)
{
    PyObject *key_copy = copium_deepcopy_child(ctx, key);
    int rc = key_copy ? copium_before_hashing(ctx, key_copy) : -1;
    if (rc == 0)
        rc = PyDict_SetItem(copy, key_copy, value_copy);
    Py_XDECREF(key_copy);
    return rc;
}

/* Insert the copies of the items it still gives into copy. 0, or -1 with an error. */
static int insert_copies(copium_ctx *ctx, PyObject *copy, copium_dictiter *it)
{
    PyObject *key, *value;
    copium_atom_cache key_atoms = {0}, value_atoms = {0};
    int rc;
    while ((rc = copium_dictiter_next(it, &key, &value)) > 0) {
        if (copium_child_is_atom(ctx, &value_atoms, value) &&
            copium_child_is_atom(ctx, &key_atoms, key)) {
            /* Nothing runs between here and the insertion: no references needed. */
            rc = copium_before_hashing(ctx, key);
            if (rc == 0)
                rc = PyDict_SetItem(copy, key, value);
        } else {
            Py_INCREF(key);
            Py_INCREF(value);
            PyObject *value_copy = copium_deepcopy_child(ctx, value);
            rc = value_copy ? insert_with_key_copy(ctx, copy, key, value_copy) : -1;
            Py_DECREF(key);
            Py_DECREF(value);
            Py_XDECREF(value_copy);
            copium_atom_cache_reset(&key_atoms);
            copium_atom_cache_reset(&value_atoms);
        }
        if (rc < 0)
            return -1;
    }
    return rc;
}

/* ---- the fast way: a clone filled in place ---------------------------------------------- */

/* The fill of one clone, on the call's stack of pending copies. */
typedef struct {
    copium_pending pending; /* first: the stack holds &fill.pending */
    PyObject *copy;
    Py_ssize_t next; /* entries before next hold copies; from next on, the original's values */
} fill;

/* Make the clone what stdlib's copy is while the value of entry next is being copied: the
 * items before it, inserted into an empty dict. Nothing is freed on the way (the original
 * holds its values, the list below the copies), so no finaliser runs. */
static int fill_settle(copium_pending *pending)
{
    fill *f = (fill *)pending;
    PyObject *done = PyList_New(0); /* before the table is read: it may run the collector */
    if (done == NULL)
        return -1;
    copium_dict_entries c;
    if (!copium_dict_entries_of(f->copy, &c)) {
        Py_DECREF(done);
        PyErr_SetString(PyExc_SystemError, "copium: a pending dict copy lost its table");
        return -1;
    }
    for (Py_ssize_t i = 0; i < f->next && i < c.count; i++) {
        PyObject *value = COPIUM_DICT_ENTRY_VALUE(&c, i);
        if (value != NULL && (PyList_Append(done, COPIUM_DICT_ENTRY_KEY(&c, i)) < 0 ||
                              PyList_Append(done, value) < 0)) {
            Py_DECREF(done);
            return -1;
        }
    }
    PyDict_Clear(f->copy);
    int rc = 0;
    for (Py_ssize_t i = 0; rc == 0 && i < PyList_GET_SIZE(done); i += 2)
        rc = PyDict_SetItem(f->copy, PyList_GET_ITEM(done, i), PyList_GET_ITEM(done, i + 1));
    Py_DECREF(done);
    return rc;
}

/* 1 when every key of table e can stay as it is in a clone: an atom of this call hashed in C
 * (so the settling re-insertion runs no Python code); *str_keys set when all are exact str. */
static int keys_fit(copium_ctx *ctx, PyObject *obj, const copium_dict_entries *e, int *str_keys)
{
    copium_atom_cache atoms = {0};
    *str_keys = 1;
    for (Py_ssize_t i = 0; i < e->count; i++) {
        if (COPIUM_DICT_ENTRY_VALUE(e, i) == NULL)
            continue; /* a deleted entry */
        PyObject *key = COPIUM_DICT_ENTRY_KEY(e, i);
        if (Py_TYPE(key) != atoms.type) {
            uint64_t misses = ctx->core->registry.misses;
            if (!copium_hashes_in_c(Py_TYPE(key)) || !copium_child_is_atom(ctx, &atoms, key) ||
                (ctx->core->registry.misses != misses && !copium_dict_entries_unchanged(obj, e)))
                return 0;
        }
        *str_keys &= PyUnicode_CheckExact(key);
        if (e->str_keys)
            return 1; /* such a table holds exact str keys only: one is enough */
    }
    return 1;
}

/* What copying the values of table e takes, judged by their types: 1 nothing (all atoms), 0
 * quiet handlers only, -1 some handler that may run Python code (which would settle the clone
 * at once: the ordinary way is cheaper), or a table changed by a type's resolution. */
static int values_need(copium_ctx *ctx, PyObject *obj, const copium_dict_entries *e)
{
    PyTypeObject *last = NULL;
    int atomic = 0, all_atoms = 1;
    for (Py_ssize_t i = 0; i < e->count; i++) {
        PyObject *value = COPIUM_DICT_ENTRY_VALUE(e, i);
        if (value == NULL)
            continue;
        if (Py_TYPE(value) != last) {
            uint64_t misses = ctx->core->registry.misses;
            uint32_t flags = copium_registry_lookup(&ctx->core->registry, Py_TYPE(value))->flags;
            /* A resolver may run code (see engine.h): the table is read again after one. */
            if (ctx->core->registry.misses != misses && !copium_dict_entries_unchanged(obj, e))
                return -1;
            if (!(flags & (COPIUM_HANDLER_ATOMIC | COPIUM_HANDLER_QUIET)))
                return -1;
            last = Py_TYPE(value);
            atomic = (flags & COPIUM_HANDLER_ATOMIC) != 0;
        }
        all_atoms &= atomic;
    }
    return all_atoms;
}

/* The copy of obj (table e) built the fast way; NULL without an exception when that way does
 * not apply (nothing observable done yet). Only while the memo is native. */
static PyObject *fill_clone(copium_ctx *ctx, PyObject *obj, copium_hash_t hash,
                            const copium_dict_entries *e)
{
    const Py_ssize_t n = PyDict_GET_SIZE(obj);
    if (n == 0 || n > CLONE_MAX_ITEMS || !copium_pending_worthwhile_in(ctx))
        return NULL;
    int need = values_need(ctx, obj, e), str_keys;
    if (need < 0 || !keys_fit(ctx, obj, e, &str_keys) ||
        !is_inserted_table(copium_handlers_of(ctx), e, n, str_keys))
        return NULL;
    PyObject *copy = PyDict_Copy(obj);
    if (copy == NULL)
        return NULL;
    copium_dict_entries c;
    if (!copium_dict_entries_of(copy, &c) || c.count != e->count || c.slots != e->slots ||
        c.str_keys != e->str_keys) {
        Py_DECREF(copy); /* PyDict_Copy merged instead of cloning */
        return NULL;
    }
    if (need == 1) { /* all atoms: the clone is the copy */
        if (copium_memo_store(ctx, obj, hash, copy) < 0)
            Py_CLEAR(copy);
        return copy;
    }
    if (copium_memo_remember(ctx, obj, hash, copy) < 0) {
        Py_DECREF(copy);
        return NULL;
    }
    fill f = {.pending = {.settle = fill_settle}, .copy = copy};
    copium_pending_begin(ctx, &f.pending);
    copium_atom_cache atoms = {0};
    Py_ssize_t seen = 0; /* items reached, the one being copied included */
    for (Py_ssize_t i = 0; i < c.count; i++) {
        PyObject *value = COPIUM_DICT_ENTRY_VALUE(&c, i);
        if (value == NULL)
            continue;
        seen++;
        if (Py_TYPE(value) == atoms.type) {
            if (atoms.atomic)
                continue;
        } else {
            uint64_t misses = ctx->core->registry.misses;
            int atomic = copium_child_is_atom(ctx, &atoms, value);
            /* A resolver may have run code (see engine.h): the table is read again after one. */
            if (ctx->core->registry.misses != misses && !copium_dict_entries_unchanged(copy, &c))
                goto changed;
            if (atomic)
                continue;
        }
        PyObject *key = Py_NewRef(COPIUM_DICT_ENTRY_KEY(&c, i));
        Py_INCREF(value);
        f.next = i;
        PyObject *value_copy = copium_deepcopy_child(ctx, value);
        copium_atom_cache_reset(&atoms);
        if (value_copy != NULL && f.pending.settled) {
            /* Settled: on as stdlib goes, this item's key, then the original's next items. */
            int rc = insert_with_key_copy(ctx, copy, key, value_copy);
            Py_DECREF(value_copy);
            Py_DECREF(key);
            Py_DECREF(value);
            copium_dictiter it = {.dict = obj, .pos = i + 1, .used = n, .remaining = n - seen};
            if (rc < 0 || insert_copies(ctx, copy, &it) < 0)
                goto error;
            goto done;
        }
        Py_DECREF(key);
        if (value_copy != NULL &&
            (!copium_dict_entries_unchanged(copy, &c) || COPIUM_DICT_ENTRY_VALUE(&c, i) != value)) {
            Py_DECREF(value_copy);
            Py_DECREF(value);
            goto changed;
        }
        if (value_copy == NULL) {
            Py_DECREF(value);
            goto error;
        }
        *COPIUM_DICT_ENTRY_VALUE_SLOT(&c, i) = value_copy;
        Py_DECREF(value); /* the clone's reference */
        Py_DECREF(value); /* ours */
    }
done:
    copium_pending_end(ctx, &f.pending);
    if (copium_memo_complete(ctx, obj, hash, copy) < 0) {
        Py_DECREF(copy);
        return NULL;
    }
    return copy;
changed:
    /* Only Python code that the collector ran, finding the copy through gc, could get here:
     * it changed the copy's table behind the engine's back. */
    PyErr_SetString(PyExc_RuntimeError, "dictionary copy changed during deepcopy");
error:
    copium_pending_end(ctx, &f.pending);
    Py_DECREF(copy);
    return NULL;
}

/* ---- without dict_table.h: a clone only for a dict of atoms ----------------------------- */

/* 1 when every key and value of obj is an atom of this call; *str_keys cleared unless every
 * key is an exact str. */
static int next_all_atoms(copium_ctx *ctx, PyObject *obj, int *str_keys)
{
    copium_atom_cache key_atoms = {0}, value_atoms = {0};
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(obj, &pos, &key, &value)) {
        if (!copium_child_is_atom(ctx, &value_atoms, value) ||
            !copium_child_is_atom(ctx, &key_atoms, key))
            return 0;
        *str_keys &= PyUnicode_CheckExact(key);
    }
    return 1;
}

/* A clone of obj, memoized, if every key and value is an atom of this call and the clone has
 * exactly the size of stdlib's copy; NULL otherwise (with an exception only on a real
 * error). */
static PyObject *clone_atoms(copium_ctx *ctx, PyObject *obj, copium_hash_t hash)
{
    Py_ssize_t n = PyDict_GET_SIZE(obj);
    if (n < CLONE_MIN_ITEMS || n > CLONE_MAX_ITEMS)
        return NULL;
    int str_keys = 1;
    if (!next_all_atoms(ctx, obj, &str_keys))
        return NULL;
    Py_ssize_t want = copium_dict_inserted_sizeof(copium_handlers_of(ctx), n, str_keys);
    if (want < 0)
        return NULL;
    PyObject *copy = PyDict_Copy(obj);
    if (copy == NULL)
        return NULL;
    Py_ssize_t got = copium_dict_sizeof(copy);
    if (got != want) {
        Py_DECREF(copy);
        if (got < 0)
            PyErr_Clear();
        return NULL;
    }
    if (copium_memo_store(ctx, obj, hash, copy) < 0)
        Py_CLEAR(copy);
    return copy;
}

/* In a native stretch whose atoms are looked up (engine.h): is no key or value of obj at an
 * address Python code may have given the memo's dict as a key? Then each of its atoms is its
 * own copy, as the clone's checks by type assume. */
static int no_suspects(copium_ctx *ctx, PyObject *obj)
{
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(obj, &pos, &key, &value)) {
        if (copium_mirror_suspect(&ctx->mirror, key) || copium_mirror_suspect(&ctx->mirror, value))
            return 0;
    }
    return 1;
}

enum { INSERT, CLONE, FOUND };

/* How dict_deepcopy goes on once there is a Python memo (out of line: the common call has
 * none). A clone only while atoms are their own copies without a look at the memo (engine.h):
 * while the memo's dict has no key for one, or in a stretch whose dict has such keys when none
 * of obj's items is at one. FOUND with *copy set (NULL on an error): obj is the memo's own dict,
 * met in a stretch (copium_memo_dict_met). */
static COPIUM_NOINLINE int observed_way(copium_ctx *ctx, PyObject *obj, copium_hash_t hash,
                                        PyObject **copy)
{
    int rc = copium_memo_dict_met(ctx, obj, hash, copy);
    if (rc != 0)
        return FOUND;
    if ((copium_ctx_memo_native(ctx) && copium_ctx_atoms_plain(ctx, 0)) ||
        (ctx->memo_observed == COPIUM_OBSERVED_ATOMS && no_suspects(ctx, obj)))
        return CLONE;
    return INSERT;
}

static PyObject *dict_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash, void *data)
{
    (void)data;
    PyObject *copy = NULL;
    int way = copium_ctx_python_memo(ctx) == NULL ? CLONE : observed_way(ctx, obj, hash, &copy);
    if (way == FOUND)
        return copy;
    if (way == CLONE) {
        copium_dict_entries e;
        copy = copium_dict_entries_of(obj, &e) ? fill_clone(ctx, obj, hash, &e)
                                               : clone_atoms(ctx, obj, hash);
        if (copy != NULL || PyErr_Occurred())
            return copy;
    }
    copy = PyDict_New();
    if (copy == NULL)
        return NULL;
    if (copium_memo_remember(ctx, obj, hash, copy) < 0)
        goto error;
    copium_dictiter it;
    copium_dictiter_init(&it, obj);
    if (insert_copies(ctx, copy, &it) < 0)
        goto error;
    if (copium_memo_complete(ctx, obj, hash, copy) < 0)
        goto error;
    return copy;
error:
    Py_DECREF(copy);
    return NULL;
}

static PyObject *dict_copy(PyObject *obj, void *data)
{
    (void)data;
    return PyDict_Copy(obj);
}

const copium_handler copium_dict_handler = {
    .struct_size = sizeof(copium_handler),
    .name = "dict",
    .flags = COPIUM_HANDLER_QUIET,
    .deepcopy = dict_deepcopy,
    .copy = dict_copy,
};
