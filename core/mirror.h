/* The memo dict Python code sees. A call keeps its memo natively (memo.h, keepalive.h) until
 * Python code needs it as a dict (a __deepcopy__ hook, a copy._deepcopy_dispatch function, a
 * Python handler); then it gets a mirror: a real dict holding exactly stdlib's memo, which the
 * native table stays authoritative behind. The dict is brought up to date (the entries and
 * keep-alive items made since, in their order, memo[id(memo)] created where stdlib's first
 * _keep_alive created it) at the points where Python code may run, and what Python code changes
 * in it is taken into the native table at the next memo operation: keys appended (imported),
 * values replaced in place (a native hit is then confirmed in the dict). A change the native
 * table cannot follow (a deletion, a clear, a key that is not an exact int, memo[id(memo)]
 * replaced) is reported to the caller, which then makes the dict the call's authoritative memo.
 *
 * How changes are seen: from 3.12 a dict watcher flags them (and says which kind); before, the
 * dict's version tag says that something changed, and the dict's table is checked for what
 * (its key count against what was appended after the last entry written; the table pointer
 * and the last key, or else every key, for a clear or a reordering). A dict the mirror made
 * has no deleted entries for as long as it mirrors: entries appended since the last sync are
 * the ones at positions from the size recorded then. A caller's dict it was given (adopted, with
 * its entries) may have some until its table is rebuilt: positions are then counted from the
 * position after the last entry known at the last sync. */
#ifndef COPIUM_MIRROR_H
#define COPIUM_MIRROR_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#include "hash.h"
#include "keepalive.h"
#include "memo.h"

#if PY_VERSION_HEX >= 0x030C0000
#define COPIUM_MIRROR_WATCHER 1 /* a dict watcher; before 3.12 the version tag */
#endif

typedef struct copium_mirror copium_mirror;

/* The keys Python code added that may be atoms' addresses, recorded one by one up to this. */
#define COPIUM_MIRROR_SUSPECTS 4

/* The dict watcher of one interpreter's mirrors (watcher ids are per interpreter), part of the
 * core's state (state.h): added at the first mirror, given back at finalisation. The mirrors
 * being watched form a list, so that the callback, which has no closure and finds the watcher
 * through the current interpreter's core state, finds the one a dict belongs to (there are as
 * many as calls in progress that gave a hook their memo: a few at most). */
typedef struct {
    int id; /* -1: not added yet; -2: none available */
    copium_mirror *watched;
} copium_mirror_watcher;

void copium_mirror_watcher_init(copium_mirror_watcher *w);
void copium_mirror_watcher_fini(copium_mirror_watcher *w);

struct copium_mirror {
    PyObject *dict;        /* NULL while no Python code has needed the memo (strong) */
    PyObject *ka_key;      /* id(dict), the key of the keep-alive list (strong) */
    PyObject *ka_list;     /* memo[id(memo)] once the dict holds it (strong) */
    size_t ka_pos;         /* the entries before it in the dict */
    size_t keepalive_at;   /* native entries made before the call's first keep-alive push (set
                            * by the engine at that push: where memo[id(memo)] goes) */
    size_t entries_out;    /* native entries (in insertion order) the dict holds */
    size_t kept_out;       /* keep-alive items appended to the list */
    Py_ssize_t size;       /* len(dict) at the last sync */
    Py_ssize_t end;        /* the PyDict_Next position after the last entry known then */
    const void *keys;      /* its key table then (a rebuilt table has no deleted entries) */
    int gapped;            /* an adopted dict's table, deleted entries possible: end, not size */
    int values_unverified; /* Python code may have replaced a value: hits are confirmed */
    int atoms_keyed;       /* a key Python code added may be an atom's id: atoms are looked up */
    size_t taken;          /* keys Python code added, taken into the native memo */
    size_t native_ops;     /* memo operations made on the native memo behind the dict (counted
                            * by the engine: what the mirror saves, against what taking costs) */
    /* The keys of atoms_keyed's kind, one by one while there are at most
     * COPIUM_MIRROR_SUSPECTS of them (nsuspects past it: any address may be one). */
    int nsuspects;
    const void *suspects[COPIUM_MIRROR_SUSPECTS];
#ifdef COPIUM_MIRROR_WATCHER
    int dirty;                      /* the watcher saw a change since the last sync */
    int broken;                     /* ... one the native table cannot follow */
    int writing;                    /* the change is copium's own */
    copium_mirror *next;            /* the watched mirrors, for the watcher to find this one */
    copium_mirror_watcher *watcher; /* the one watching the dict, or NULL */
    int *flags;                     /* a change by Python code sets flag in *flags, if set */
    int flag;                       /* (the owner's cue to look at the dict again) */
#else
    uint64_t version;   /* the dict's version tag at the last sync */
    PyObject *last_key; /* its last key then (strong) */
#endif
};

/* May addr be a key that Python code added and that may be an atom's address (atoms_keyed)? */
static inline int copium_mirror_suspect(const copium_mirror *m, const void *addr)
{
    if (m->nsuspects > COPIUM_MIRROR_SUSPECTS)
        return 1;
    for (int i = 0; i < m->nsuspects; i++) {
        if (m->suspects[i] == addr)
            return 1;
    }
    return 0;
}

/* Has Python code changed the dict since the last sync? */
static inline int copium_mirror_changed(const copium_mirror *m)
{
#ifdef COPIUM_MIRROR_WATCHER
    return m->dirty;
#else
    return ((PyDictObject *)m->dict)->ma_version_tag != m->version;
#endif
}

/* A change Python code makes to the dict from now on sets flag in *flags, as soon as it is
 * made (from 3.12; before, nothing does: the owner finds it at its next look). */
static inline void copium_mirror_notify(copium_mirror *m, int *flags, int flag)
{
#ifdef COPIUM_MIRROR_WATCHER
    m->flags = flags;
    m->flag = flag;
#else
    (void)m;
    (void)flags;
    (void)flag;
#endif
}

/* Make m->dict: a new dict holding memo's entries (keyed by address as ints, in insertion
 * order) and, if ka holds anything, memo[id(memo)] at keepalive_at. 1: it mirrors from now on;
 * 0: changes to a dict cannot be followed here (w is the current interpreter's watcher) (a
 * free-threaded build, no watcher left): the caller takes the filled dict with copium_mirror_detach
 * and uses it as its memo; -1 with an exception set (m left closed). */
int copium_mirror_open(copium_mirror *m, copium_mirror_watcher *w, const copium_memo *memo,
                       const copium_keepalive *ka);

/* Make m mirror dict, an exact dict a caller passed as the memo: its entries taken into memo
 * (which is empty) as if Python code had appended them, the native memo authoritative from
 * now on. 1: it mirrors; 0: it cannot (a key that is not an address, memo[id(memo)] not a
 * list, a dict another call mirrors, no watcher), m left closed, memo possibly holding some
 * of the entries (the caller resets it); -1 with an exception set. Runs no Python code and
 * leaves the dict as it was. w: the current interpreter's watcher. */
int copium_mirror_adopt(copium_mirror *m, copium_mirror_watcher *w, PyObject *dict,
                        copium_memo *memo, const copium_keepalive *ka);

/* Write the entries and keep-alive items made since the last sync into the dict (the caller
 * has taken in Python's changes first). 0, or -1 with an exception set. */
int copium_mirror_flush(copium_mirror *m, const copium_memo *memo, const copium_keepalive *ka);

/* Take in the changes Python code made since the last sync: keys appended go into memo (an
 * address among known[0..nknown) is a live non-atom; any other makes atoms_keyed). 0; 1 when
 * the changes cannot be followed (the caller detaches the dict and makes it authoritative);
 * -1 with an exception set. Runs no Python code. */
int copium_mirror_absorb(copium_mirror *m, copium_memo *memo, const copium_keepalive *ka,
                         const void *const *known, int nknown);

/* A native hit as the dict has it now: native, or the value Python code put in its place (also
 * stored into memo). Borrowed, or NULL with an exception set. */
PyObject *copium_mirror_confirm(copium_mirror *m, copium_memo *memo, const void *key,
                                copium_hash_t hash, PyObject *native);

/* memo[key] = value in the dict now, if it holds key already (a value replaced after it was
 * written). 0, or -1 with an exception set. */
int copium_mirror_rewrite(copium_mirror *m, const void *key, PyObject *value);

/* Stop mirroring and hand the dict over (a new reference to what m->dict was). */
PyObject *copium_mirror_detach(copium_mirror *m);

/* Stop mirroring and release the dict. */
void copium_mirror_close(copium_mirror *m);

#endif
