"""Crash-safe file writing: a reader never sees half a file."""

import contextlib
import errno
import functools
import os
import shutil
import tempfile
from pathlib import Path

STAGED = ".staged."  # the name of staged_files' folder starts so


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; rename it to ``path`` only if the block succeeds.

    The temporary name keeps the file's suffix, so writers that choose a format by suffix
    (pandas, numpy, matplotlib) behave as they would on ``path`` itself. An OSError names
    ``path``, never the temporary name.
    """
    path = Path(path)
    _make_parent(path)
    with _naming(path):
        fd, tmp = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent
        )
        os.close(fd)
    try:
        with _naming(path, tmp):
            yield Path(tmp)
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)


@contextlib.contextmanager
def atomic_directory(path):
    """Yield a temporary directory beside ``path`` (its parent folders made as needed, as
    ``atomic_path`` makes a file's); rename it to ``path`` only if the block succeeds (else
    remove it). An OSError names ``path``, never the temporary name."""
    path = Path(path)
    _make_parent(path)
    with _naming(path):
        tmp = tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with _naming(path, tmp):
            yield Path(tmp)
            os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def staged_files(directory, last=None):
    """Yield a hidden temporary folder inside ``directory`` (made as needed) for a set of
    files that belong together; move them all into ``directory`` only if the block succeeds
    (``last``, if given, after the others), else remove them, and the folders this made: a
    failing writer leaves nothing beside what was there before. An OSError names
    ``directory``."""
    directory = Path(directory)
    made = [p for p in (directory, *directory.parents) if not p.exists()]  # deepest first
    _make_parent(directory / "_")
    with _naming(directory):
        stage = tempfile.mkdtemp(prefix=STAGED, dir=directory)
    done = False
    try:
        with _naming(directory, stage):
            yield Path(stage)
            for name in sorted(os.listdir(stage), key=lambda name: name == last):
                os.replace(os.path.join(stage, name), directory / name)
            done = True
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        for folder in made if not done else ():
            with contextlib.suppress(OSError):  # not empty: something else wrote there
                folder.rmdir()


def _make_parent(path):
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError as error:  # a file where the folder should be
        raise NotADirectoryError(
            errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path.parent)
        ) from error


@contextlib.contextmanager
def _naming(path, tmp=None):
    """OSErrors about the temporary ``tmp`` (or any, without it) as errors about ``path``."""
    try:
        yield
    except OSError as error:
        if tmp is not None and tmp not in str(error):
            raise
        raise type(error)(error.errno, error.strerror or str(error), str(path)) from error


def write_text(path, text):
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def pyplot():
    """matplotlib's pyplot on the Agg backend: figures are files here, never windows."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    return plt


def plain_text(draw):
    """``draw`` (a function that makes or saves a figure) with matplotlib's mathtext off:
    text from the data, such as a column named ``cost $^$``, is drawn as written, never
    parsed as a formula (an odd one fails the whole figure). matplotlib fixes a text's
    parsing when it makes the text, tick labels when it draws them: both steps need it."""

    @functools.wraps(draw)
    def drawn(*args, **kwargs):
        import matplotlib

        with matplotlib.rc_context({"text.parse_math": False}):
            return draw(*args, **kwargs)

    return drawn


@plain_text
def save_figure(fig, path, dpi=100, *, whole=False):
    """Lay ``fig`` out, write it to ``path`` atomically and free it. ``whole``: grow the
    image to hold whatever is drawn outside the axes (labels placed beyond them)."""
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight" if whole else None)
    pyplot().close(fig)
