"""Run files: JSON summaries, HDF5 training histories and torch checkpoints.

Every writer goes through :func:`atomic_path`, so a run killed mid-write never leaves a
half-written file under its final name: the data goes to a hidden temporary file in the
same directory, which is renamed over the final name only once it is complete.
Readers raise :class:`~kanpde.errors.KanpdeError` with a one-line message naming the file.
"""
from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import shutil
from pathlib import Path
from typing import Any, Iterator, Sequence

import h5py
import numpy as np
import torch

from ..errors import KanpdeError

# History datasets stored as int64; every other history dataset is float64.
INT_DATASETS = frozenset({"step", "phase", "eval/step"})


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it onto ``path`` when the block succeeds.

    The temporary file is ``.<name>.tmp-<pid>`` in the same directory (so ``os.replace`` is
    an atomic rename on one filesystem). If the block raises, the temporary file is deleted,
    ``path`` is left as it was, and the exception propagates; a failed write (a full disk, a
    read-only folder) becomes a one-line KanpdeError naming the file.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        problem = _write_failure(exc)
        if problem is None:
            raise
        if problem.startswith("the write failed") and shutil.disk_usage(path.parent).free < 2**20:
            problem = "no space left on the device"
        raise KanpdeError(f"{problem} while writing {path}") from None


def _write_failure(exc: BaseException) -> str | None:
    """What went wrong when ``exc`` is a failed write (OSError, or torch's and h5py's wrappers of
    one), else None."""
    text = str(exc)
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC or "No space left" in text:
        return "no space left on the device"
    if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{exc.strerror.lower()} (the folder is not writable)"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    if isinstance(exc, RuntimeError) and ("inline_container" in text or "PytorchStreamWriter" in text):
        return "the write failed (a full disk?)"  # torch.save's wrapper of a failed write
    return None


def _to_json(obj: Any) -> Any:
    """Return ``obj`` as plain JSON types: numpy scalars/arrays become Python numbers/lists,
    tuples become lists, paths become strings, and non-finite floats become ``None``."""
    if isinstance(obj, dict):
        return {str(key): _to_json(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_to_json(value) for value in obj]
    if isinstance(obj, np.ndarray):
        return _to_json(obj.tolist())
    if isinstance(obj, np.generic):
        return _to_json(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json(path: str | Path, obj: dict) -> None:
    """Write ``obj`` to ``path`` as indented JSON (keys in insertion order), atomically.

    numpy scalars and arrays are converted to Python numbers and (nested) lists;
    NaN and infinities are written as ``null`` so the file stays valid JSON.
    """
    data = _to_json(obj)
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=False, allow_nan=False)
        f.write("\n")


def make_folder(path: str | Path, what: str) -> Path:
    """Create the output folder ``path`` (and its parents) before any work is done; KanpdeError
    naming ``what`` (e.g. "--out") and the path when it is a file or cannot be created."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise KanpdeError(f"{what} {path}: a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise KanpdeError(f"{what} {path}: cannot create the folder ({(exc.strerror or str(exc)).lower()})") from None
    return path


def read_json(path: str | Path) -> dict:
    """Read a JSON object written by :func:`write_json`; KanpdeError if it is missing or corrupt."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise KanpdeError(f"cannot read {path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KanpdeError(f"cannot read {path}: {_short(exc)}") from exc
    if not isinstance(data, dict):
        raise KanpdeError(f"cannot read {path}: expected a JSON object, found {type(data).__name__}")
    return data


def write_history(path: str | Path, history: dict[str, np.ndarray | list]) -> None:
    """Write a training history to HDF5, atomically.

    ``history`` maps dataset paths (``"loss"``, ``"loss_terms/pde"``, ``"eval/rel_l2"``...)
    to 1-D sequences; groups are created from the slashes. ``step``, ``phase`` and
    ``eval/step`` are stored as int64, everything else as float64.
    """
    arrays = {}
    for key, values in history.items():
        dtype = np.int64 if key in INT_DATASETS else np.float64
        array = np.asarray(values, dtype=dtype)
        if array.ndim != 1:
            raise ValueError(f"history[{key!r}] must be 1-D, got shape {array.shape}")
        arrays[key] = array
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        for key, array in arrays.items():
            f.create_dataset(key, data=array)


def read_history(path: str | Path) -> dict[str, np.ndarray]:
    """Read every dataset of a history file into ``{slash/key: 1-D array}``.

    Raises KanpdeError if the file is missing or is not a readable HDF5 file.
    """
    if not Path(path).is_file():
        raise KanpdeError(f"cannot read {path}: no such file")
    history: dict[str, np.ndarray] = {}

    def collect(name: str, node: h5py.HLObject) -> None:
        if isinstance(node, h5py.Dataset):
            history[name] = node[()]

    try:
        with h5py.File(path, "r") as f:
            f.visititems(collect)
    except (OSError, KeyError, ValueError, RuntimeError) as exc:
        raise KanpdeError(f"cannot read {path}: {_short(exc)}") from exc
    return history


def save_figure(fig: Any, stem: str | Path, formats: Sequence[str] = ("png",), dpi: int = 150,
                **savefig: Any) -> list[Path]:
    """Save the matplotlib Figure ``fig`` as ``stem.<format>`` for every format, atomically; extra
    keywords go to ``Figure.savefig``. Returns the written paths."""
    paths = []
    for fmt in formats:
        path = Path(stem).with_suffix(f".{fmt}")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi, **savefig)
        paths.append(path)
    return paths


def save_checkpoint(path: str | Path, state: dict) -> None:
    """Write ``state`` (tensors, state dicts, plain values) with ``torch.save``, atomically."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | Path) -> dict:
    """Load a checkpoint written by :func:`save_checkpoint`, with every tensor on the CPU.

    A missing, empty, truncated or otherwise unreadable file raises KanpdeError.
    """
    path = Path(path)
    if not path.is_file():
        raise KanpdeError(f"cannot read checkpoint {path}: no such file")
    if path.stat().st_size == 0:
        raise KanpdeError(f"cannot read checkpoint {path}: file is empty")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    # Unpickling a damaged file can fail with almost any exception type.
    except Exception as exc:  # noqa: BLE001
        raise KanpdeError(f"cannot read checkpoint {path}: not a readable torch checkpoint ({_short(exc)})") from exc
    if not isinstance(state, dict):
        raise KanpdeError(f"cannot read checkpoint {path}: expected a dict, found {type(state).__name__}")
    return state


def _short(exc: BaseException, limit: int = 120) -> str:
    """First sentence of an exception's message (or its type name), cut to ``limit`` characters."""
    lines = str(exc).strip().splitlines()
    text = lines[0].split(". ")[0].rstrip(".") if lines else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
