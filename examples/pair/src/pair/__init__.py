"""pair: an example copium plugin.

``pair.Pair(first, second)`` is a small mutable C type. Importing this package registers a
copium handler for it (in ``pair._pair``'s module init), so ``copium.deepcopy`` and
``copium.copy`` copy Pairs natively; ``copy.deepcopy`` and ``copy.copy`` still work through
``Pair.__reduce__``. ``pair.handler`` is the handler as a ``copium.handler`` capsule, for
``copium.register_handler(pair.Pair, pair.handler)``.
"""

from pair._pair import Pair, handler

__all__ = ["Pair", "handler"]
__version__ = "0.1.0"
