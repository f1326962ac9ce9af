/* The memo dict Python code sees (see mirror.h): writing native entries into it, taking in
 * what Python code changed, and the watcher that notices changes from 3.12. */
#include "mirror.h"

#include "state.h"

#ifdef COPIUM_MIRROR_WATCHER
void copium_mirror_watcher_init(copium_mirror_watcher *w)
{
    w->id = -1;
    w->watched = NULL;
}

/* Called before the change is made: the next sync sees it. */
static int on_change(PyDict_WatchEvent event, PyObject *dict, PyObject *key, PyObject *new_value)
{
    (void)key;
    (void)new_value;
    copium_core *core = copium_core_current();
    copium_mirror *m = core != NULL ? core->watcher.watched : NULL;
    while (m != NULL && m->dict != dict)
        m = m->next;
    if (m == NULL || m->writing)
        return 0;
    m->dirty = 1;
    if (m->flags != NULL)
        *m->flags |= m->flag;
    switch (event) {
    case PyDict_EVENT_ADDED:
    case PyDict_EVENT_CLONED: /* into an empty dict: its entries are all appended ones */
        break;
    case PyDict_EVENT_MODIFIED: /* memo[id(memo)] among them: the sync checks the list */
        m->values_unverified = 1;
        break;
    default: /* deleted, cleared (deallocated cannot happen: the mirror holds the dict) */
        m->broken = 1;
        break;
    }
    return 0;
}

/* 1 when m->dict is watched from now on, 0 when no watcher can be had. */
static int watch(copium_mirror *m, copium_mirror_watcher *w)
{
#ifdef Py_GIL_DISABLED
    (void)m;
    (void)w;
    return 0; /* the flags would be written by other threads while this one reads them */
#else
    if (w == NULL)
        return 0;
    if (w->id == -1) {
        w->id = PyDict_AddWatcher(on_change);
        if (w->id < 0) {
            PyErr_Clear();
            w->id = -2;
        }
    }
    if (w->id < 0)
        return 0;
    if (PyDict_Watch(w->id, m->dict) < 0) {
        PyErr_Clear();
        return 0;
    }
    m->next = w->watched;
    w->watched = m;
    m->watcher = w;
    return 1;
#endif
}

/* Is dict mirrored already (by a call of any thread)? The watcher tells which mirror a change
 * belongs to by its dict: one dict, one mirror. (A dict is of one interpreter, so w, that
 * interpreter's watcher, is the one that would watch it.) */
static int watched(const copium_mirror_watcher *w, PyObject *dict)
{
    for (copium_mirror *m = w->watched; m != NULL; m = m->next) {
        if (m->dict == dict)
            return 1;
    }
    return 0;
}

static void unwatch(copium_mirror *m)
{
    copium_mirror_watcher *w = m->watcher;
    if (w == NULL)
        return; /* never watched */
    copium_mirror **p = &w->watched;
    while (*p != NULL && *p != m)
        p = &(*p)->next;
    if (*p != NULL)
        *p = m->next;
    m->next = NULL;
    m->watcher = NULL;
    if (PyDict_Unwatch(w->id, m->dict) < 0)
        PyErr_Clear();
}

void copium_mirror_watcher_fini(copium_mirror_watcher *w)
{
    if (w->id >= 0 && PyDict_ClearWatcher(w->id) < 0)
        PyErr_Clear();
    w->id = -1;
    w->watched = NULL;
}

static void write_begin(copium_mirror *m)
{
    m->writing = 1;
}
#else
void copium_mirror_watcher_init(copium_mirror_watcher *w)
{
    w->id = -1;
    w->watched = NULL;
}

void copium_mirror_watcher_fini(copium_mirror_watcher *w)
{
    (void)w;
}

static void write_begin(copium_mirror *m)
{
    (void)m;
}
#endif

/* After copium's own writes, or a sync: the dict as it is now is the one Python code left.
 * The entries after the old end are all known now (written, or taken in). */
static void write_end(copium_mirror *m)
{
    const void *keys = ((PyDictObject *)m->dict)->ma_keys;
    m->size = PyDict_GET_SIZE(m->dict);
    /* A table rebuilt since (grown, say) keeps no deleted entries: positions are counts. */
    if (m->gapped && keys != m->keys)
        m->gapped = 0;
    if (m->gapped) {
        PyObject *key, *value;
        Py_ssize_t pos = m->end;
        while (PyDict_Next(m->dict, &pos, &key, &value))
            m->end = pos;
    } else {
        m->end = m->size;
    }
    m->keys = keys;
#ifdef COPIUM_MIRROR_WATCHER
    m->writing = 0;
    m->dirty = 0;
#else
    m->version = ((PyDictObject *)m->dict)->ma_version_tag;
#endif
}

#ifdef COPIUM_MIRROR_WATCHER
/* Where the entries appended since the last sync start (the table may have been rebuilt). */
static Py_ssize_t known_end(const copium_mirror *m)
{
    return m->gapped && ((PyDictObject *)m->dict)->ma_keys == m->keys ? m->end : m->size;
}
#endif

/* The dict's last key is key (a strong reference is taken): what the check for a cleared and
 * refilled table compares (before 3.12). */
static void set_last(copium_mirror *m, PyObject *key)
{
#ifdef COPIUM_MIRROR_WATCHER
    (void)m;
    (void)key;
#else
    Py_INCREF(key);
    Py_XSETREF(m->last_key, key);
#endif
}

/* memo[id(memo)] = list, the list now the mirror's. */
static int place_list(copium_mirror *m, PyObject *list, size_t pos)
{
    if (PyDict_SetItem(m->dict, m->ka_key, list) < 0)
        return -1;
    m->ka_list = Py_NewRef(list);
    m->ka_pos = pos;
    set_last(m, m->ka_key);
    return 0;
}

int copium_mirror_flush(copium_mirror *m, const copium_memo *memo, const copium_keepalive *ka)
{
    if (m->entries_out == memo->count && m->kept_out == ka->count)
        return 0;
    /* Made before any write: an allocation may run the collector (before 3.12), whose code
     * would find the dict as Python code last left it. */
    PyObject *list = NULL;
    if (m->ka_list == NULL && ka->count > 0 && (list = PyList_New(0)) == NULL)
        return -1;
    int rc = -1;
    write_begin(m);
    for (size_t i = m->entries_out; i < memo->count; i++) {
        if (list != NULL && i >= m->keepalive_at) {
            if (place_list(m, list, i) < 0)
                goto done;
            Py_CLEAR(list);
        }
        const copium_memo_slot *slot = &memo->slots[memo->used[i]];
        PyObject *key = PyLong_FromVoidPtr((void *)slot->key);
        if (key == NULL)
            goto done;
        if (PyDict_SetItem(m->dict, key, slot->value) < 0) {
            Py_DECREF(key);
            goto done;
        }
        set_last(m, key);
        Py_DECREF(key);
        m->entries_out = i + 1;
    }
    if (list != NULL) {
        if (place_list(m, list, memo->count) < 0)
            goto done;
        Py_CLEAR(list);
    }
    /* `memo[id(memo)].append(x)`, in the order the originals were kept alive. */
    for (size_t j = m->kept_out; j < ka->count; j++) {
        if (PyList_Append(m->ka_list, ka->items[j]) < 0)
            goto done;
        m->kept_out = j + 1;
    }
    rc = 0;
done:
    write_end(m);
    Py_XDECREF(list);
    return rc;
}

/* m mirrors dict (a new reference is taken) from now on, as a dict that holds nothing yet, w
 * watching it: 1, 0 when changes to it cannot be seen here (m mirrors it all the same), -1
 * with an exception set (m left closed). */
static int start(copium_mirror *m, copium_mirror_watcher *w, PyObject *dict)
{
    PyObject *key = PyLong_FromVoidPtr(dict);
    if (key == NULL)
        return -1;
    m->dict = Py_NewRef(dict);
    m->ka_key = key;
    m->ka_list = NULL;
    m->entries_out = m->kept_out = 0;
    m->values_unverified = m->atoms_keyed = m->nsuspects = 0;
    m->taken = m->native_ops = 0;
    m->size = m->end = 0;
    m->keys = NULL;
    m->gapped = 0;
#ifdef COPIUM_MIRROR_WATCHER
    m->dirty = m->broken = m->writing = 0;
    m->next = NULL;
    m->watcher = NULL;
    m->flags = NULL;
    return watch(m, w);
#else
    (void)w;
    m->last_key = NULL;
    return 1;
#endif
}

int copium_mirror_open(copium_mirror *m, copium_mirror_watcher *w, const copium_memo *memo,
                       const copium_keepalive *ka)
{
    PyObject *dict = PyDict_New();
    if (dict == NULL)
        return -1;
    int watched = start(m, w, dict);
    Py_DECREF(dict);
    if (watched < 0)
        return -1;
    write_end(m);
    if (copium_mirror_flush(m, memo, ka) < 0) {
        copium_mirror_close(m);
        return -1;
    }
    return watched;
}

#ifndef COPIUM_MIRROR_WATCHER
/* Is the position-th key of the dict (deleted entries not counted) what the mirror put or
 * took there: the entry memo holds at that index, or memo[id(memo)] at ka_pos? */
static int key_in_place(const copium_mirror *m, const copium_memo *memo, size_t position,
                        PyObject *key)
{
    if (!PyLong_CheckExact(key))
        return 0;
    void *addr = PyLong_AsVoidPtr(key);
    if (addr == NULL && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    if (m->ka_list != NULL && position >= m->ka_pos) {
        if (position == m->ka_pos)
            return addr == (void *)m->dict;
        position--;
    }
    return position < memo->count && addr == memo->slots[memo->used[position]].key;
}

/* The position after the dict's first m->size keys if they are still the ones the last sync
 * left, in the same places (nothing deleted, cleared or reordered there), else -1. The table
 * pointer and the last key decide when they are unchanged; otherwise every key is compared (a
 * table Python code grew by appending: amortised over the doublings). */
static Py_ssize_t prefix_end(const copium_mirror *m, const copium_memo *memo)
{
    PyObject *key, *value;
    if (m->size == 0)
        return 0;
    if (((PyDictObject *)m->dict)->ma_keys == m->keys) {
        Py_ssize_t pos = m->end - 1;
        if (PyDict_Next(m->dict, &pos, &key, &value) && key == m->last_key && pos == m->end)
            return pos;
    }
    Py_ssize_t pos = 0;
    for (Py_ssize_t i = 0; i < m->size; i++) {
        if (!PyDict_Next(m->dict, &pos, &key, &value) || !key_in_place(m, memo, (size_t)i, key))
            return -1;
    }
    return pos;
}
#endif

/* Take in the key Python code appended (at the position-th place). 0, 1 (cannot follow), -1. */
static int take(copium_mirror *m, copium_memo *memo, const copium_keepalive *ka, PyObject *key,
                PyObject *value, const void *const *known, int nknown)
{
    if (!PyLong_CheckExact(key))
        return 1; /* a lookup could run its __eq__ */
    void *addr = PyLong_AsVoidPtr(key);
    if (addr == NULL) {
        PyErr_Clear(); /* no address: 0, or out of range */
        return 1;
    }
    if (addr == (void *)m->dict) {
        /* memo[id(memo)] made by Python code (stdlib's own deepcopy, unpatched): appended to from
         * now on, as stdlib's _keep_alive would. */
        if (m->ka_list != NULL || !PyList_CheckExact(value) || m->kept_out != ka->count)
            return 1;
        m->ka_list = Py_NewRef(value);
        m->ka_pos = memo->count;
        return 0;
    }
    copium_hash_t hash = copium_hash_ptr(addr);
    if (copium_memo_lookup(memo, addr, hash) != NULL)
        return 1; /* two int keys for one address (-1 and 2**64 - 1) */
    if (copium_memo_insert(memo, addr, hash, value) < 0)
        return -1;
    m->entries_out = memo->count;
    m->taken++;
    int live = 0;
    for (int i = 0; i < nknown; i++)
        live |= known[i] == addr;
    if (!live) {
        m->atoms_keyed = 1;
        if (m->nsuspects < COPIUM_MIRROR_SUSPECTS)
            m->suspects[m->nsuspects] = addr;
        if (m->nsuspects <= COPIUM_MIRROR_SUSPECTS)
            m->nsuspects++;
    }
    return 0;
}

int copium_mirror_absorb(copium_mirror *m, copium_memo *memo, const copium_keepalive *ka,
                         const void *const *known, int nknown)
{
#ifdef COPIUM_MIRROR_WATCHER
    if (m->broken)
        return 1;
    Py_ssize_t pos = known_end(m);
#else
    m->values_unverified = 1; /* a value replaced in place changes only the version tag */
    Py_ssize_t pos = prefix_end(m, memo);
    if (pos < 0)
        return 1;
#endif
    /* Entries copium made that the dict lacks: Python code ran in the middle of a native
     * stretch (a finaliser), and its changes came after entries the dict does not show. */
    if (m->entries_out != memo->count || m->kept_out != ka->count)
        return 1;
    Py_ssize_t size = PyDict_GET_SIZE(m->dict), appended = 0;
    PyObject *key, *value;
    while (PyDict_Next(m->dict, &pos, &key, &value)) {
        appended++;
        int rc = take(m, memo, ka, key, value, known, nknown);
        if (rc != 0)
            return rc;
#ifndef COPIUM_MIRROR_WATCHER
        set_last(m, key);
#endif
    }
    /* Fewer keys than the old ones and the appended: something was deleted. */
    if (m->size + appended != size)
        return 1;
    /* memo[id(memo)] still the list (a value that may have been replaced): nothing was deleted
     * or reordered before it, so it is still the ka_pos-th entry. */
    if (m->ka_list != NULL && m->values_unverified) {
        value = PyDict_GetItemWithError(m->dict, m->ka_key); /* an exact int key: no code */
        if (value != m->ka_list) {
            PyErr_Clear();
            return 1;
        }
    }
    write_end(m);
    return 0;
}

int copium_mirror_adopt(copium_mirror *m, copium_mirror_watcher *w, PyObject *dict,
                        copium_memo *memo, const copium_keepalive *ka)
{
#ifdef COPIUM_MIRROR_WATCHER
    if (watched(w, dict))
        return 0; /* a call of another thread mirrors it: the watcher tells mirrors by dict */
#endif
    int rc = start(m, w, dict);
    if (rc <= 0) {
        if (rc == 0)
            copium_mirror_close(m);
        return rc;
    }
    PyObject *key, *value;
    Py_ssize_t pos = 0, n = 0;
    while (PyDict_Next(dict, &pos, &key, &value)) {
        n++;
        rc = take(m, memo, ka, key, value, NULL, 0);
        if (rc != 0) {
            copium_mirror_close(m);
            return rc < 0 ? -1 : 0;
        }
        set_last(m, key);
    }
    /* Deleted entries in the table (before its last entry, or after it: unseen): entries
     * appended later are found from the position after the last known one. */
    m->gapped = n > 0;
    m->end = pos;
    m->keys = ((PyDictObject *)dict)->ma_keys;
    m->taken = 0; /* (a key taken here may be an atom's address: atoms_keyed is set) */
    write_end(m);
    return 1;
}

PyObject *copium_mirror_confirm(copium_mirror *m, copium_memo *memo, const void *key,
                                copium_hash_t hash, PyObject *native)
{
    PyObject *k = PyLong_FromVoidPtr((void *)key);
    if (k == NULL)
        return NULL;
    PyObject *value = PyDict_GetItemWithError(m->dict, k); /* exact int keys: no code runs */
    Py_DECREF(k);
    if (value == NULL)
        return PyErr_Occurred() ? NULL : native; /* not written yet: Python code never saw it */
    if (value != native && copium_memo_insert(memo, key, hash, value) < 0)
        return NULL;
    return value;
}

int copium_mirror_rewrite(copium_mirror *m, const void *key, PyObject *value)
{
    PyObject *k = PyLong_FromVoidPtr((void *)key);
    if (k == NULL)
        return -1;
    int rc = PyDict_Contains(m->dict, k);
    if (rc > 0) {
        write_begin(m);
        rc = PyDict_SetItem(m->dict, k, value);
        write_end(m);
    }
    Py_DECREF(k);
    return rc < 0 ? -1 : 0;
}

static void release(copium_mirror *m)
{
#ifdef COPIUM_MIRROR_WATCHER
    unwatch(m);
    m->dirty = m->broken = m->writing = 0;
    m->flags = NULL;
#else
    Py_CLEAR(m->last_key);
#endif
    Py_CLEAR(m->ka_key);
    Py_CLEAR(m->ka_list);
    m->entries_out = m->kept_out = 0;
    m->values_unverified = m->atoms_keyed = m->nsuspects = 0;
    m->taken = m->native_ops = 0;
}

PyObject *copium_mirror_detach(copium_mirror *m)
{
    PyObject *dict = m->dict;
    if (dict == NULL)
        return NULL;
    release(m);
    m->dict = NULL;
    return dict;
}

void copium_mirror_close(copium_mirror *m)
{
    Py_XDECREF(copium_mirror_detach(m));
}
