"""Shipping user code to workers, and errors back, without losing where they come from.

cloudpickle sends functions defined in ``__main__`` (or in a notebook) by value, and
renames their code's file to ``<dynamic-code>``: a traceback in the worker then never
names the user's script. :func:`dumps` keeps each code object's real file name (code
objects travel through :mod:`marshal`, as in a ``.pyc``; worker and driver run the same
interpreter). An error raised in a worker reaches the driver with the worker's
traceback attached as its ``__cause__`` (:class:`RemoteTraceback`), as
``concurrent.futures`` does.
"""

from __future__ import annotations

import io
import marshal
import types
from collections import ChainMap
from typing import Any, ClassVar

import cloudpickle

__all__ = ["RemoteTraceback", "dumps", "remote_error"]


def _reduce_code(code: types.CodeType) -> tuple[Any, tuple[bytes]]:
    return marshal.loads, (marshal.dumps(code),)


class _Pickler(cloudpickle.Pickler):
    dispatch_table: ClassVar[ChainMap[Any, Any]] = ChainMap(
        {types.CodeType: _reduce_code}, cloudpickle.Pickler.dispatch_table,
    )


def dumps(obj: Any) -> bytes:
    """``cloudpickle.dumps``, keeping the file names of code sent by value."""
    buffer = io.BytesIO()
    _Pickler(buffer).dump(obj)
    return buffer.getvalue()


class RemoteTraceback(Exception):  # noqa: N818 - concurrent.futures' name for the same thing
    """The traceback of an error in a worker: the cause of the error raised in the driver."""

    def __init__(self, tb: str) -> None:
        super().__init__(tb)
        self.tb = tb

    def __str__(self) -> str:
        return f'\n"""\n{self.tb.rstrip()}\n"""'


def remote_error(blob: bytes, tb: str) -> BaseException:
    """The error a worker pickled (``blob``), with its traceback text ``tb`` (if any) as its cause.

    An error that cannot be unpickled here becomes a RuntimeError carrying that text.
    """
    try:
        error = cloudpickle.loads(blob) if blob else None
    except Exception:
        error = None
    if not isinstance(error, BaseException):
        return RuntimeError(f"a worker failed:\n{tb}")
    if tb:
        error.__cause__ = RemoteTraceback(tb)
    return error
