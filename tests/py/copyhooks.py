"""Objects with copy protocols of their own, shared by the reliability tests (test_faults,
test_leaks, test_threads): hooks that call copium back (with the memo, or as a nested
top-level copy), a __copy__, a five-item __reduce_ex__, __getstate__/__setstate__ and a
copyreg.dispatch_table entry. Unlike graphs.py's classes, these call copium itself: those
tests are about copium's C code, whatever COPIUM_TEST_IMPL says."""

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
