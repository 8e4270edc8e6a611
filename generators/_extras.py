"""Optional third-party libraries behind synthbalance's extras (``pip install
"synthbalance[<extra>]"``): imported when a sampler first needs them, never at import time, so
``synthbalance.generators`` imports without them."""

import importlib


class MissingExtraError(ImportError, ValueError):
    """An optional library is not installed. A ValueError as well, so that the CLI reports it
    in one line like the user's other mistakes (a config naming a generator whose extra is
    missing)."""


def import_extra(module, extra, what):
    """``module`` imported, or a one-line MissingExtraError saying which extra installs it.

    ``what`` names the thing that needs it (``"generator=forest_diffusion"``).
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingExtraError(
            f'{what} needs the optional package {module!r}: pip install "synthbalance[{extra}]"'
        ) from error
