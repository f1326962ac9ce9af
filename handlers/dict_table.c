/* A mirror of CPython's combined dict table, per version, verified at start-up (see
 * dict_table.h). The mirrors follow Objects/dict-common.h (3.10) and
 * Include/internal/pycore_dict.h (3.11 on): a keys object is a header, an index array whose
 * size the header gives, then the entries; 3.11 added a kind, and entries without a stored
 * hash for tables of exact str keys. */
#include "dict_table.h"

#include <stdatomic.h>
#include <stdint.h>

#if PY_VERSION_HEX < 0x030B0000
typedef struct {
    Py_ssize_t dk_refcnt;
    Py_ssize_t dk_size;
    void *dk_lookup;
    Py_ssize_t dk_usable;
    Py_ssize_t dk_nentries;
    char dk_indices[];
} keys_mirror;
#else
typedef struct {
    Py_ssize_t dk_refcnt;
    uint8_t dk_log2_size;
    uint8_t dk_log2_index_bytes;
    uint8_t dk_kind; /* 0 general, 1 exact str keys, 2 split */
    uint32_t dk_version;
    Py_ssize_t dk_usable;
    Py_ssize_t dk_nentries;
    char dk_indices[];
} keys_mirror;
#endif

#define PTR ((Py_ssize_t)sizeof(PyObject *))

/* Process-wide: the layout of CPython's dict tables is the interpreter binary's, the same in
 * every interpreter. Verified once, by the first copium_dict_table_init in the process (an
 * interpreter initialising at the same time as another may verify it again, and writes the
 * same answer): 0 not yet, 1 verified, 2 not usable. */
static atomic_int table_state;

/* The entries of keys, or 0 when its shape is not one the mirror knows. strict: also check
 * the header's invariants (start-up, when the mirror itself is on trial). */
static int entries_of_keys(const keys_mirror *k, copium_dict_entries *out, int strict)
{
#if PY_VERSION_HEX < 0x030B0000
    Py_ssize_t size = k->dk_size;
    if (strict && (size < 8 || (size & (size - 1)) != 0 || k->dk_nentries > size))
        return 0;
    Py_ssize_t ixsize = size <= 0xff ? 1 : size <= 0xffff ? 2 : size <= 0xffffffff ? 4 : 8;
    out->base = k->dk_indices + size * ixsize;
    out->slots = size;
    out->stride = 3 * PTR; /* hash, key, value */
    out->key_offset = PTR;
    out->str_keys = 0;
#else
    if (strict &&
        (k->dk_log2_size < 3 || k->dk_log2_size > 40 || k->dk_log2_index_bytes < k->dk_log2_size ||
         k->dk_log2_index_bytes > k->dk_log2_size + 3 ||
         k->dk_nentries > ((Py_ssize_t)1 << k->dk_log2_size)))
        return 0;
    if (k->dk_kind == 0) {
        out->stride = 3 * PTR; /* hash, key, value */
        out->key_offset = PTR;
        out->str_keys = 0;
    } else if (k->dk_kind == 1) {
        out->stride = 2 * PTR; /* key, value */
        out->key_offset = 0;
        out->str_keys = 1;
    } else {
        return 0;
    }
    out->base = k->dk_indices + ((size_t)1 << k->dk_log2_index_bytes);
    out->slots = (Py_ssize_t)1 << k->dk_log2_size;
#endif
    out->count = k->dk_nentries;
    return 1;
}

int copium_dict_entries_of(PyObject *dict, copium_dict_entries *out)
{
    if (atomic_load_explicit(&table_state, memory_order_relaxed) != 1)
        return 0;
    PyDictObject *mp = (PyDictObject *)dict;
    if (mp->ma_values != NULL)
        return 0;
    return entries_of_keys((const keys_mirror *)mp->ma_keys, out, 0);
}

int copium_dict_entries_unchanged(PyObject *dict, const copium_dict_entries *e)
{
    copium_dict_entries now;
    return copium_dict_entries_of(dict, &now) && now.base == e->base && now.count == e->count;
}

/* 1 when the mirror reads dict's entries exactly as PyDict_Next gives them, and (3.11+) files
 * a dict of exact str keys as such and one of int keys as not. */
static int reads_back(PyObject *dict, int str_keys)
{
    PyDictObject *mp = (PyDictObject *)dict;
    copium_dict_entries e;
    if (mp->ma_values != NULL || mp->ma_keys == NULL ||
        !entries_of_keys((const keys_mirror *)mp->ma_keys, &e, 1) ||
        e.count < PyDict_GET_SIZE(dict))
        return 0;
#if PY_VERSION_HEX >= 0x030B0000
    if (e.str_keys != str_keys)
        return 0;
#else
    (void)str_keys;
#endif
    Py_ssize_t pos = 0, i = 0;
    PyObject *key, *value;
    while (PyDict_Next(dict, &pos, &key, &value)) {
        while (i < e.count && COPIUM_DICT_ENTRY_VALUE(&e, i) == NULL)
            i++;
        if (i == e.count || COPIUM_DICT_ENTRY_KEY(&e, i) != key ||
            COPIUM_DICT_ENTRY_VALUE(&e, i) != value)
            return 0;
        i++;
    }
    while (i < e.count && COPIUM_DICT_ENTRY_VALUE(&e, i) == NULL)
        i++;
    return i == e.count;
}

/* A dict of n items, keys str (str_keys) or int, values distinct ints; every third item
 * deleted afterwards when with_holes. */
static PyObject *reference_dict(Py_ssize_t n, int str_keys, int with_holes)
{
    PyObject *dict = PyDict_New();
    if (dict == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *key = str_keys ? PyUnicode_FromFormat("k%zd", i) : PyLong_FromSsize_t(i);
        PyObject *value = key ? PyLong_FromSsize_t(i + 1000) : NULL;
        int rc = value ? PyDict_SetItem(dict, key, value) : -1;
        Py_XDECREF(key);
        Py_XDECREF(value);
        if (rc < 0)
            goto error;
    }
    for (Py_ssize_t i = 0; with_holes && i < n; i += 3) {
        PyObject *key = str_keys ? PyUnicode_FromFormat("k%zd", i) : PyLong_FromSsize_t(i);
        int rc = key ? PyDict_DelItem(dict, key) : -1;
        Py_XDECREF(key);
        if (rc < 0)
            goto error;
    }
    return dict;
error:
    Py_DECREF(dict);
    return NULL;
}

int copium_dict_table_init(void)
{
    if (atomic_load(&table_state) != 0)
        return 0;
#ifndef Py_GIL_DISABLED
    /* Small and large index arrays (1 and 2 bytes an index), both key kinds, with holes. */
    static const Py_ssize_t sizes[] = {5, 12, 400};
    int ok = 1;
    for (size_t s = 0; ok && s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        for (int str_keys = 0; ok && str_keys < 2; str_keys++) {
            for (int holes = 0; ok && holes < 2; holes++) {
                PyObject *dict = reference_dict(sizes[s], str_keys, holes);
                if (dict == NULL)
                    return -1;
                ok = reads_back(dict, str_keys);
                Py_DECREF(dict);
            }
        }
    }
    atomic_store(&table_state, ok ? 1 : 2);
#else
    atomic_store(&table_state, 2);
#endif
    return 0;
}

int copium_dict_table_verified(void)
{
    return atomic_load_explicit(&table_state, memory_order_relaxed) == 1;
}
