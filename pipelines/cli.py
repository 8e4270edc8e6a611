"""Console scripts: ``synthbalance``, ``synthbalance-compare``, ``synthbalance-export``.

Errors in the user's data or config end the program with one line on stderr and exit code
1; set ``HYDRA_FULL_ERROR=1`` to get the traceback instead.
"""

import argparse
import functools
import os
import sys

import hydra
from hydra.errors import InstantiationException
from omegaconf.errors import OmegaConfBaseException

from . import app, compare, export

USER_ERRORS = (ValueError, OSError, InstantiationException, OmegaConfBaseException)


def _one_line(error):
    # Hydra wraps errors raised while instantiating a _target_; the cause is the message.
    while isinstance(error, InstantiationException) and error.__cause__ is not None:
        error = error.__cause__
    return " ".join(str(error).split()) or type(error).__name__


def _fail(prog, error):
    print(f"{prog}: error: {_one_line(error)}", file=sys.stderr)
    sys.exit(1)


def _reporting_user_errors(prog):
    def decorate(job):
        @functools.wraps(job)
        def wrapper(*args, **kwargs):
            try:
                return job(*args, **kwargs)
            except USER_ERRORS as error:
                if os.environ.get("HYDRA_FULL_ERROR") == "1":
                    raise
                _fail(prog, error)

        return wrapper

    return decorate


@hydra.main(config_path="pkg://conf", config_name="config", version_base="1.3")
@_reporting_user_errors("synthbalance")
def main(cfg):
    """``synthbalance [overrides]``: one evaluation run (``-m`` for a sweep)."""
    return app.run(cfg)


@hydra.main(config_path="pkg://conf", config_name="export", version_base="1.3")
@_reporting_user_errors("synthbalance-export")
def export_main(cfg):
    """``synthbalance-export [overrides] export.path=out.parquet``."""
    return export.export(cfg)


@_reporting_user_errors("synthbalance-compare")
def compare_main(argv=None):
    """``synthbalance-compare DIR... [--out DIR]``."""
    parser = argparse.ArgumentParser(
        prog="synthbalance-compare",
        description="Aggregate the report.json files under run or sweep directories.",
    )
    parser.add_argument("directories", nargs="+", metavar="DIR")
    parser.add_argument(
        "--out", default=".", help="where to write comparison.md and comparison.csv (default: .)"
    )
    parser.add_argument(
        "--rope", type=float, default=0.01, help="region of practical equivalence (default: 0.01)"
    )
    args = parser.parse_args(argv)
    table, _ = compare.write_comparison(args.directories, args.out, rope=args.rope)
    print(f"{len(table)} runs compared; wrote {args.out}/comparison.md and comparison.csv")
