"""Names of a package imported from their modules on first use (PEP 562).

Used by ``synthbalance`` (so that the console scripts start without torch) and
``synthbalance.classifiers`` (so that the reject option loads without it)."""

import importlib


def lazy_exports(namespace, exports):
    """``__getattr__`` and ``__dir__`` for the module whose globals are ``namespace``: each
    name of ``exports`` (``{name: module}``) is imported from its module when first asked
    for, then kept in ``namespace``."""

    def __getattr__(name):
        if name not in exports:
            raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name]), name)
        namespace[name] = value  # imported once
        return value

    def __dir__():
        return sorted([*namespace, *exports])

    return __getattr__, __dir__
