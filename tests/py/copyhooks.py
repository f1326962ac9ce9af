"""Objects with copy protocols of their own, shared by the reliability tests (test_faults,
test_leaks, test_threads): hooks that call copium back (with the memo, or as a nested
top-level copy), hooks that use the memo dict in the ways copium's mirror of it follows or
gives up on (core/mirror.h), a __copy__, a five-item __reduce_ex__, __getstate__/__setstate__
and a copyreg.dispatch_table entry. Unlike graphs.py's classes, these call copium itself:
those tests are about copium's C code, whatever COPIUM_TEST_IMPL says."""

import copy
import copyreg

import copium


class HookMemo:
    """__deepcopy__ that calls copium back with the memo it was given (a Python memo from
    then on)."""

    def __init__(self, payload):
        self.payload = payload

    def __deepcopy__(self, memo):
        new = HookMemo.__new__(HookMemo)
        memo[id(self)] = new
        new.payload = copium.deepcopy(self.payload, memo)
        return new


class HookWrites:
    """__deepcopy__ that adds entries to the memo (for itself, for its payload's first item
    and for an atom) and calls copium back with it: copium takes the entries in."""

    def __init__(self, payload):
        self.payload = payload

    def __deepcopy__(self, memo):
        new = HookWrites.__new__(HookWrites)
        memo[id(self)] = new
        memo[id(self.payload[0])] = self.payload[0]
        memo.setdefault(id(ATOM), "atom")
        new.payload = copium.deepcopy(self.payload, memo)
        return new


ATOM = 10 ** 40


class HookDeletes:
    """__deepcopy__ that deletes an entry (copium's mirror gives up: the dict becomes the memo)
    and calls copium back with the memo."""

    def __init__(self, payload):
        self.payload = payload

    def __deepcopy__(self, memo):
        for key in list(memo)[:1]:
            del memo[key]
        return HookDeletes(copium.deepcopy(self.payload, memo))


class HookStdlib:
    """__deepcopy__ that calls stdlib's own deepcopy with the memo (when copy is not patched):
    entries and the keep-alive list made by Python code, taken in by copium."""

    def __init__(self, payload):
        self.payload = payload

    def __deepcopy__(self, memo):
        return HookStdlib(copy.deepcopy(self.payload, memo))


KEPT_MEMO = [None]


class HookKeeps:
    """__deepcopy__ that keeps the memo (the last one only): copium fills it to its final
    state at the end of the call."""

    def __init__(self, payload):
        self.payload = payload

    def __deepcopy__(self, memo):
        KEPT_MEMO[0] = memo
        return HookKeeps(copium.deepcopy(self.payload, memo))


def mirror_graph():
    """Every use of the memo dict above, around shared and nested containers."""
    shared = [1, {"s": [2]}]
    return [shared, HookWrites([[3], shared, ATOM]), {"k": [4, shared]},
            HookStdlib([shared, [5], {"a": (6, [7])}]), HookKeeps({"p": [8, shared]}),
            HookMemo([HookWrites([[9]]), shared]), [10, ATOM], HookDeletes([shared, [11]]),
            {"after": [shared, [12]]}]


class HookNoMemo:
    """__deepcopy__ that starts a nested top-level copy (a context of its own)."""

    def __init__(self, payload):
        self.payload = payload

    def __deepcopy__(self, memo):
        return HookNoMemo(copium.deepcopy(self.payload))


class CopyHook:
    """__copy__ that builds a new object from its value."""

    def __init__(self, v):
        self.v = v

    def __copy__(self):
        return CopyHook(self.v)


class Reduced:
    """__reduce_ex__ with every item: args, state, listitems, dictitems."""

    def __init__(self, v=None):
        self.v = v
        self.items = []
        self.mapping = {}

    def append(self, item):
        self.items.append(item)

    def __setitem__(self, key, value):
        self.mapping[key] = value

    def __reduce_ex__(self, protocol):
        return (Reduced, (self.v,), {"tag": [self.v]}, iter(list(self.items)),
                iter(list(self.mapping.items())))


class WithState:
    """__getstate__ / __setstate__."""

    def __init__(self, v):
        self.v = v

    def __getstate__(self):
        return {"v": self.v, "extra": [1, 2]}

    def __setstate__(self, state):
        self.__dict__.update(state)


class Registered:
    """Copied through a copyreg.dispatch_table entry."""

    def __init__(self, v):
        self.v = v


def _reduce_registered(obj):
    return (Registered, (obj.v,))


copyreg.pickle(Registered, _reduce_registered)
