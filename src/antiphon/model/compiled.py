"""Numba's ``njit``, deferred: modules of compiled kernels import without Numba, which is imported when a kernel first runs.

Why: Numba and LLVM cost about 127 MB of resident memory in a process that loads its cached kernels (40 MB of
libllvmlite's pages on import, the rest when the machine code is linked), which put ``serve`` past its 150 MB
target. ``serve`` runs the engine's kernels compiled ahead of time instead (:mod:`antiphon.model.ahead_of_time`,
the same functions, no Numba at run time); the same modules' pure-Python parts (key profiles, level settings)
must then import without it.

A kernel is a :class:`Kernel` until one of them is first called. Then every kernel of the package becomes a
Numba dispatcher with its options (``cache=True``: machine code cached beside the source), and every module of
the package that holds a kernel by name is rebound to the dispatcher, so a compiled kernel that calls another
finds a dispatcher, as with ``numba.njit`` itself.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any


class Kernel:
    """A function to be compiled by Numba's ``njit(**options)`` the first time any kernel is called."""

    def __init__(self, py_func: Callable[..., Any], options: dict[str, Any]) -> None:
        self.py_func = py_func
        self.options = options
        self._dispatcher: Callable[..., Any] | None = None
        self.__doc__ = py_func.__doc__
        self.__name__ = py_func.__name__
        self.__qualname__ = py_func.__qualname__
        self.__module__ = py_func.__module__

    @property
    def dispatcher(self) -> Callable[..., Any]:
        """The Numba dispatcher (Numba is imported, and every kernel made one, on the first use)."""
        if self._dispatcher is None:
            jit_all()
        assert self._dispatcher is not None
        return self._dispatcher

    def __call__(self, *args: Any) -> Any:
        return self.dispatcher(*args)


_KERNELS: list[Kernel] = []


def njit(**options: Any) -> Callable[[Callable[..., Any]], Kernel]:
    """``numba.njit(**options)``, applied when a kernel is first called (see the module's docstring)."""

    def wrap(func: Callable[..., Any]) -> Kernel:
        kernel = Kernel(func, options)
        _KERNELS.append(kernel)
        return kernel

    return wrap


def jit_all() -> None:
    """Import Numba, make every kernel defined so far a dispatcher, and rebind the package's names of them."""
    import numba

    for kernel in _KERNELS:
        if kernel._dispatcher is None:
            kernel._dispatcher = numba.njit(**kernel.options)(kernel.py_func)
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "antiphon" or name.startswith("antiphon.")):
            continue
        for attribute, value in list(vars(module).items()):
            if isinstance(value, Kernel):
                setattr(module, attribute, value._dispatcher)
