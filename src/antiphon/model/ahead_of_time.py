"""The engine's kernels compiled ahead of time, so that ``serve`` runs them without importing Numba.

Numba compiles the engine's step when a process first calls it, or loads its cached machine code; either way
it imports Numba and links through LLVM, about 127 MB of the 168 MB ``serve`` held after start-up (its target
is 150 MB). Here the same functions (:data:`EXPORTS`: the calls the engine makes from Python) are compiled
once, by Numba's ``numba.pycc``, into an extension module beside the sources, which needs only NumPy at run
time. ``make`` builds it after installing (``python -m antiphon.model.ahead_of_time``); a C compiler is needed
for the build only.

The module's name carries a hash of the kernels' sources, of Numba's version and of the processor's
instruction set (it is compiled for this processor, as Numba's JIT compiles), so a module built from other
sources, or on another machine, is never loaded: :func:`engine_calls` then gives the JIT kernels, which
compute the same numbers (tested bit for bit) after Numba's start-up. Unlike a JIT dispatcher, the module does
not look at its arguments: an array of another type or layout than :data:`EXPORTS` gives is misread, or crashes the
process, so the engine converts every array a caller hands it (frames, rows) before its kernels see it. ``pycc`` is deprecated in Numba, with
no replacement yet; where it goes away, the build fails and the engine keeps the JIT.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import platform
import sys
import warnings
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

#: the engine's calls from Python: exported name -> (module of antiphon.model, function, Numba signature, as the
#: engine's arguments are typed)
EXPORTS: dict[str, tuple[str, str, str]] = {
    "feed": (
        "engine_kernels",
        "feed",
        "void(f8[::1], f8, i8, f8[::1], f8[::1], b1[::1], f4[::1], i8, i8, f4[::1], i8[:, ::1], i8, f8, f8[::1], f8[::1], b1)",
    ),
    "advance": ("engine_kernels", "advance", "void(f4[::1], i8, i8, f4[::1], i8[:, ::1], i8, f8, f8[::1], f8[::1], b1)"),
    "draw": (
        "engine_kernels",
        "draw",
        "f8(f4[::1], i8, f4[:, ::1], f4[:, :, ::1], f8, f8, f8[::1], f4[::1], f4[::1], b1, f8, b1, i8, b1, f8[::1], f8[::1], i8, i8, f8, "
        "b1, f8[::1], b1, f8[:, ::1], f8[::1], i8, i8, f8[::1], f8[::1])",
    ),
    "to_instrument": ("engine_kernels", "to_instrument", "b1(f8[::1], i8, b1, f8[::1], f8[::1], i8, i8, f8, b1, f8[::1], b1, f8[::1])"),
    "derive": ("engine_kernels", "derive", "void(f8[::1], f8[:, ::1])"),
    "hear": ("chroma_mass", "hear", "void(f4[::1], i8, f8[::1], i8, i8, f8)"),
    "hear_rows": ("chroma_mass", "hear_rows", "void(f4[::1], i8, f8[:, ::1], f8)"),
    "hold": ("chroma_mass", "hold", "f8(f4[::1], i8, f8[::1], i8, i8, f8, f8[::1])"),
    "hear_frame": ("key", "_hear_frame", "i8(f8[::1], i8, f8[::1], i8[::1], f8, f8[:, ::1], i8, f8, i8)"),
    "move": ("key", "move", "void(f8[::1], i8, i8, f8[::1], f8[::1])"),
}

#: the modules whose sources the kernels are compiled from (a change to any of them is another module name)
SOURCES = ("compiled", "engine_kernels", "chroma_mass", "key", "level", "onset", "ahead_of_time")
PREFIX = "_kernels_"


def _instruction_set() -> str:
    """The processor's model and instruction-set flags (Linux), else its architecture: what host code may use."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.machine()
    wanted = [line for line in lines if line.startswith(("flags", "model name", "Features", "CPU part"))]
    return "\n".join(dict.fromkeys(wanted)) or platform.machine()


def module_name() -> str:
    """The name of the extension module built from the present sources, for this processor and Numba."""
    digest = hashlib.sha256()
    folder = Path(__file__).parent
    for name in SOURCES:
        digest.update((folder / f"{name}.py").read_bytes())
    try:
        numba_version = importlib.metadata.version("numba")
    except importlib.metadata.PackageNotFoundError:
        numba_version = "none"
    digest.update(f"{numba_version}\n{sys.version}\n{_instruction_set()}".encode())
    return PREFIX + digest.hexdigest()[:16]


def load() -> ModuleType | None:
    """The extension module for the present sources, or None where it was not built (or was built from others)."""
    try:
        return importlib.import_module(f"antiphon.model.{module_name()}")
    except ImportError:
        return None


def jit_calls() -> SimpleNamespace:
    """The same calls, as Numba's JIT kernels (Numba imported now, the dispatchers called directly)."""
    from antiphon.model.compiled import jit_all

    modules = {module for module, _, _ in EXPORTS.values()}
    for module in modules:
        importlib.import_module(f"antiphon.model.{module}")
    jit_all()
    return SimpleNamespace(
        **{name: getattr(importlib.import_module(f"antiphon.model.{module}"), function) for name, (module, function, _) in EXPORTS.items()}
    )


def engine_calls() -> Any:
    """The engine's kernels: compiled ahead of time where :func:`load` finds them, else the JIT's."""
    return load() or jit_calls()


def build(folder: Path | None = None) -> Path:
    """Compile :data:`EXPORTS` into ``folder`` (this package's, by default), removing modules built from other
    sources there; returns the extension's path. Raises whatever Numba or the C compiler raise."""
    from antiphon.model.compiled import jit_all

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pycc's pending deprecation
        from numba.pycc import CC

    folder = Path(folder) if folder is not None else Path(__file__).parent
    name = module_name()
    functions = {
        export: getattr(importlib.import_module(f"antiphon.model.{module}"), function) for export, (module, function, _) in EXPORTS.items()
    }
    jit_all()  # every kernel a dispatcher: the exported functions' callees compile with their own options
    compiler = CC(name)
    compiler.output_dir = str(folder)
    compiler.target_cpu = "host"
    compiler.verbose = False
    for export, (_, _, signature) in EXPORTS.items():
        compiler.export(export, signature)(functions[export].py_func)
    for old in folder.glob(f"{PREFIX}*"):
        old.unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compiler.compile()
    (built,) = folder.glob(f"{name}.*")
    return built


def main() -> int:
    """``python -m antiphon.model.ahead_of_time``: build the module, or say why not (the engine then uses the JIT)."""
    try:
        path = build()
    except Exception as exc:  # a failed build only costs memory: the JIT computes the same
        print(
            f"antiphon: the engine's kernels were not compiled ahead of time ({type(exc).__name__}: {exc}); serve will compile them with Numba at start (about 115 MB more)"
        )
        return 0
    print(f"antiphon: the engine's kernels compiled ahead of time: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
