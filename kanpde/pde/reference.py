"""Reference data from files: points and values of any subset of a problem's fields.

    read_reference(path, inputs, outputs) -> (points (N, n_in), values (N, n_out), triangles)

Values a file does not give are NaN: they are written and plotted but not scored. A file names its
columns by the problem's input and output names (``x``, ``y``, ``u``, ``p``):

    .npz          one 1-D array per name (or ``points`` (N, n_in) for the inputs)
    .csv          a header line with the names, then one row per point (``#`` starts a comment,
                  also before the header: say where the data comes from)
    .mat          MATLAB variables, as for .npz (scipy.io.loadmat)
    .h5 / .hdf5   datasets at the root, as for .npz
    anything meshio reads (.vtu, .vtk, .xdmf, .msh, ...): the mesh's points (first n_in
                  coordinates) with point data named by the outputs; its triangles, if any
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..errors import KanpdeError

TABLES = (".npz", ".csv", ".mat", ".h5", ".hdf5")


def read_reference(path: str | Path, inputs: Sequence[str],
                   outputs: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Points (N, n_in), values (N, n_out) with NaN where the file gives no value, and the
    triangles (M, 3) of a 2-D mesh file (else None). One-line KanpdeError for a missing or
    unreadable file, missing input columns, columns of unequal length, or no output at all."""
    path = Path(path)
    if not path.is_file():
        raise KanpdeError(f"reference data {path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix in TABLES:
            columns, triangles = _read_table(path, suffix), None
        else:
            columns, triangles = _read_mesh(path, len(inputs))
    except KanpdeError:
        raise
    except Exception as exc:  # noqa: BLE001 - each reader has its own errors; the user needs the file named
        detail = " ".join(str(exc).split())  # one line, whatever the reader said
        raise KanpdeError(f"reference data {path}: cannot read it ({type(exc).__name__}: {detail[:300]})") from None
    if "points" in columns and not all(name in columns for name in inputs):
        points = np.asarray(columns.pop("points"), dtype=np.float64).reshape(-1, len(inputs))
        columns.update({name: points[:, i] for i, name in enumerate(inputs)})
    missing = [name for name in inputs if name not in columns]
    if missing:
        raise KanpdeError(f"reference data {path}: no column for the input(s) {', '.join(missing)}; "
                          f"it has {', '.join(sorted(columns)) or 'none'}")
    given = [name for name in outputs if name in columns]
    if not given:
        raise KanpdeError(f"reference data {path}: none of the fields {', '.join(outputs)}; "
                          f"it has {', '.join(sorted(columns))}")
    arrays = {name: np.asarray(columns[name], dtype=np.float64).reshape(-1) for name in [*inputs, *given]}
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise KanpdeError(f"reference data {path}: columns of unequal length {lengths}")
    n = len(arrays[inputs[0]])
    points = np.stack([arrays[name] for name in inputs], axis=1)
    values = np.stack([arrays[name] if name in arrays else np.full(n, np.nan) for name in outputs], axis=1)
    return points, values, triangles


def _read_table(path: Path, suffix: str) -> dict[str, np.ndarray]:
    if suffix == ".npz":
        with np.load(path) as data:
            return {k: data[k] for k in data.files}
    if suffix == ".csv":
        lines = [line for line in path.read_text(encoding="utf-8").splitlines()
                 if line.strip() and not line.lstrip().startswith("#")]  # comment lines may precede the header
        table = np.genfromtxt(lines, delimiter=",", names=True, comments="#", dtype=np.float64, ndmin=1)
        return {name: table[name] for name in table.dtype.names or ()}
    if suffix == ".mat":
        from scipy.io import loadmat

        return {k: v for k, v in loadmat(path).items() if not k.startswith("__")}
    import h5py

    with h5py.File(path, "r") as f:
        return {k: f[k][()] for k in f if isinstance(f[k], h5py.Dataset)}


def _read_mesh(path: Path, n_in: int) -> tuple[Mapping[str, np.ndarray], np.ndarray | None]:
    import meshio

    mesh = meshio.read(path)
    points = np.asarray(mesh.points, dtype=np.float64)[:, :n_in]
    triangles = next((np.asarray(c.data) for c in mesh.cells if c.type == "triangle"), None) if n_in == 2 else None
    return {"points": points, **{k: np.asarray(v) for k, v in mesh.point_data.items()}}, triangles


__all__ = ["read_reference"]
