"""Test sets: evaluation points with reference values, NaN where there is no reference.

A problem has one or several named test sets (``Problem.test_sets``): the whole field for the
figures and the VTU file, a centreline where published data lives, ... Those marked ``scored``
together make the run's score: ``rel_l2`` = mean over the fields of ||u_f - u_ref,f||_2 /
||u_ref,f||_2 over every scored point where u_ref,f is given, ``max_abs_error``, and per field the
max and RMS of u_f - u_ref,f. Fields or points without a reference are written and plotted only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
import torch
from scipy.spatial import Delaunay, QhullError

from ..errors import KanpdeError
from ..geometry import Domain
from .reference import read_reference

if TYPE_CHECKING:
    from .problem import Problem


@dataclass
class TestSet:
    """Evaluation points (N, n_in), reference values (N, n_out) with NaN where there is no
    reference (a field or point that is written and plotted but not scored), the grid shape when
    the points form a tensor-product grid in C order (None for scattered points), the triangles
    (M, 3) when they are a 2-D mesh's vertices, and whether the set counts in the run's score."""

    __test__ = False  # not a pytest class, despite its name

    points: np.ndarray
    values: np.ndarray
    grid_shape: tuple[int, ...] | None = None
    triangles: np.ndarray | None = None
    scored: bool = True

    def _given(self) -> tuple[np.ndarray, np.ndarray]:
        ref = np.asarray(self.values, dtype=np.float64)
        return ref, np.isfinite(ref)

    def scored_points(self) -> np.ndarray:
        """How many points of each field have a reference value: (n_out,) integers."""
        return self._given()[1].sum(axis=0)

    def _errors(self, predicted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(u - u_ref with 0 where no reference (N, n_out), where a reference is given (N, n_out))."""
        ref, given = self._given()
        return np.where(given, np.asarray(predicted, dtype=np.float64) - np.where(given, ref, 0.0), 0.0), given

    def rel_l2_fields(self, predicted: np.ndarray) -> np.ndarray:
        """||u_f - u_ref,f||_2 / ||u_ref,f||_2 of every field f over the points where u_ref,f is
        given, for predictions (N, n_out): (n_out,), NaN for a field without reference."""
        diff, given = self._errors(predicted)
        norm = np.linalg.norm(np.where(given, self._given()[0], 0.0), axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(given.any(axis=0), np.linalg.norm(diff, axis=0) / norm, np.nan)

    def rel_l2(self, predicted: np.ndarray) -> float:
        """The mean over the scored fields of the relative L2 error (the run's ``rel_l2``; NaN
        when no field has a reference)."""
        errors = self.rel_l2_fields(predicted)
        scored = ~np.isnan(errors)
        return float(errors[scored].mean()) if scored.any() else math.nan

    def max_abs_error_fields(self, predicted: np.ndarray) -> np.ndarray:
        """max |u_f - u_ref,f| over the given values of each field: (n_out,), NaN without any."""
        diff, given = self._errors(predicted)
        return np.where(given.any(axis=0), np.abs(diff).max(axis=0, initial=0.0), np.nan)

    def rms_error_fields(self, predicted: np.ndarray) -> np.ndarray:
        """sqrt(mean (u_f - u_ref,f)^2) over the given values of each field: (n_out,), NaN without any."""
        diff, given = self._errors(predicted)
        count = given.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, np.sqrt((diff**2).sum(axis=0) / count), np.nan)

    def max_abs_error(self, predicted: np.ndarray) -> float:
        """max |u - u_ref| over every given reference value (NaN when there is none)."""
        errors = self.max_abs_error_fields(predicted)
        return float(np.nanmax(errors)) if np.isfinite(errors).any() else math.nan

    def summary(self, predicted: np.ndarray, outputs: Sequence[str]) -> dict[str, Any]:
        """The set's entry in metrics.json: its size, whether it is scored, and per scored field
        the points with a reference, the relative L2, max and RMS errors."""
        counts = self.scored_points()
        fields = [i for i, c in enumerate(counts) if c]

        def per_field(values: np.ndarray) -> dict[str, float]:
            return {outputs[i]: float(values[i]) for i in fields}

        return {"points": len(self.points), "scored": self.scored,
                "scored_points": {n: int(c) for n, c in zip(outputs, counts)},
                "rel_l2_fields": per_field(self.rel_l2_fields(predicted)),
                "max_abs_error_fields": per_field(self.max_abs_error_fields(predicted)),
                "rms_error_fields": per_field(self.rms_error_fields(predicted))}

    @staticmethod
    def score(sets: Mapping[str, "TestSet"], n_in: int, n_out: int) -> "TestSet":
        """The scored sets' points and values together: what the run's errors are measured on
        (one set: itself; none scored: an empty set (0, n_in), whose errors are NaN)."""
        chosen = [s for s in sets.values() if s.scored]
        if len(chosen) == 1:
            return chosen[0]
        if not chosen:
            return TestSet(np.zeros((0, n_in)), np.zeros((0, n_out)))
        return TestSet(np.concatenate([np.asarray(s.points, dtype=np.float64) for s in chosen]),
                       np.concatenate([np.asarray(s.values, dtype=np.float64) for s in chosen]))


def line_set(start: Sequence[float], end: Sequence[float], n: int, n_out: int,
             data: Mapping[int, tuple[np.ndarray, np.ndarray]] | None = None, scored: bool = True) -> TestSet:
    """A test set on the segment start -> end: ``n`` evenly spaced points without reference
    (the curve drawn), plus for each field index f in ``data`` its points (K, n_in) and values
    (K,) (published data on that line; NaN for the other fields)."""
    start, end = np.asarray(start, dtype=np.float64), np.asarray(end, dtype=np.float64)
    points = [start + np.linspace(0.0, 1.0, n)[:, None] * (end - start)]
    values = [np.full((n, n_out), np.nan)]
    for field, (x, u) in (data or {}).items():
        v = np.full((len(x), n_out), np.nan)
        v[:, field] = u
        points.append(np.asarray(x, dtype=np.float64))
        values.append(v)
    return TestSet(np.concatenate(points), np.concatenate(values), scored=scored)


def delaunay_in(x: np.ndarray, domain: Domain) -> np.ndarray | None:
    """The Delaunay triangles (M, 3) of 2-D points x (N, 2) whose centroids lie in ``domain``;
    None for points on a line (a centreline test set) or too few to triangulate."""
    if len(x) < 3 or np.linalg.matrix_rank(x - x.mean(axis=0), tol=1e-12 * max(np.ptp(x), 1e-300)) < 2:
        return None
    try:
        simplices = Delaunay(x).simplices
    except QhullError:
        return None
    return simplices[domain.contains(x[simplices].mean(axis=1))]


def default_test_set(problem: Problem) -> TestSet:
    """A problem's test set from what it declares: its ``reference`` data file (reference.py: any
    subset of the fields), or ``exact`` on the domain's test points (a full grid with
    ``test_points_per_axis`` points per axis on boxes), or, for a problem with neither, those points
    without reference values (the prediction is written and plotted, nothing is scored; NaN from
    ``exact`` means the same)."""
    from .problem import Problem

    if problem.reference is not None:
        x, values, triangles = read_reference(problem.reference, problem.inputs, problem.outputs)
        if triangles is None and x.shape[1] == 2:
            triangles = delaunay_in(x, problem.domain)
        return TestSet(x, values, None, triangles)
    x, shape = problem.domain.test_points(problem.test_points_per_axis)
    n_out, triangles = len(problem.outputs), None if shape else domain_triangles(problem.domain, x)
    if type(problem).exact is Problem.exact:
        return TestSet(x, np.full((len(x), n_out), np.nan), shape, triangles)
    with torch.no_grad():
        values = torch.as_tensor(problem.exact(torch.as_tensor(x, dtype=torch.float64)))
    if values.shape == (len(x),) and n_out == 1:
        values = values[:, None]
    if values.shape != (len(x), n_out):
        raise KanpdeError(f"{type(problem).__name__}.exact returned shape {tuple(values.shape)} at {len(x)} points, "
                          f"expected ({len(x)}, {n_out}) for the outputs ({', '.join(problem.outputs)})")
    return TestSet(x, values.numpy(), shape, triangles)


def check_test_sets(problem: Problem, sets: Mapping[str, TestSet]) -> None:
    """One-line error unless ``problem.test_sets()`` gave a set, each named by a plain word, with
    points (N, n_in) and values (N, n_out)."""
    n_in, n_out, name_ = len(problem.inputs), len(problem.outputs), type(problem).__name__
    if not isinstance(sets, Mapping) or not sets:
        raise KanpdeError(f"{name_}.test_sets must return a non-empty dict of name -> TestSet")
    for name, test in sets.items():
        if not (isinstance(name, str) and name.isidentifier()) or not isinstance(test, TestSet):
            raise KanpdeError(f"{name_}.test_sets: {name!r} must be a plain name (letters, digits, _) "
                              f"with a TestSet, got {type(test).__name__}")
        points, values = np.shape(test.points), np.shape(test.values)
        if len(points) != 2 or points[1] != n_in or values != (points[0], n_out):
            raise KanpdeError(f"{name_}: its test set {name!r} has points {points} and values {values}, "
                              f"expected (N, {n_in}) and (N, {n_out})")


def domain_triangles(domain: Domain, x: np.ndarray) -> np.ndarray | None:
    """Triangles (M, 3) over scattered 2-D test points x (N, 2): the mesh's own cells for a mesh
    domain, else the Delaunay triangles whose centroids lie in the domain (None in other dims)."""
    if x.shape[1] != 2:
        return None
    return domain.cells if domain.cells is not None else delaunay_in(x, domain)


__all__ = ["TestSet", "check_test_sets", "default_test_set", "delaunay_in", "domain_triangles", "line_set"]
