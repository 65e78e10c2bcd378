"""Affine fits y ~ a f(b x + c) + d of one edge's samples, for every candidate of a library.

For a candidate f: a grid over the nonlinear parameters (b, c), each point with the closed-form
least-squares (a, d) and its R^2 = 1 - SSR / SST; the best grid point is polished by
``scipy.optimize.least_squares`` over the free parameters. Fits are ranked by R^2; ``choose``
prefers the simplest candidate whose R^2 is within a tolerance of the best one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np
from scipy.optimize import least_squares

from .library import Candidate

GRID_POINTS = 61  # per nonlinear parameter
GRID_SAMPLES = 256  # samples used in the grid search (all of them in the polish)
POLISH_EVALUATIONS = 300  # a cap: a candidate that cannot fit drifts (a (x + c)^2 on a line: c -> inf)


@dataclass(frozen=True)
class Fit:
    """A fitted edge a f(b x + c) + d: the candidate's name, the parameters, R^2 and complexity."""

    name: str
    a: float
    b: float
    c: float
    d: float
    r2: float
    complexity: int

    @property
    def params(self) -> tuple[float, float, float, float]:
        return self.a, self.b, self.c, self.d


def _r2(ssr: np.ndarray, sst: float) -> np.ndarray:
    """1 - SSR / SST (1 where the data is constant and the fit exact, 0 where it is not)."""
    if sst <= 1e-300:
        return np.where(ssr <= 1e-300, 1.0, 0.0)
    return 1.0 - ssr / sst


def _grid(candidate: Candidate, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Candidate values of (b, c), each (G,), from the range of the samples x."""
    lo, hi = float(x.min()), float(x.max())
    width = max(hi - lo, 1e-12)
    if candidate.scale == "free":
        b = np.geomspace(0.05, 30.0, GRID_POINTS) * 2 / width
        b = b if candidate.symmetric else np.concatenate([-b[::-1], b])
    elif candidate.scale == "sign":
        b = np.array([-1.0, 1.0])
    else:
        b = np.array([1.0])
    if candidate.shift == "fixed":
        return b, np.zeros_like(b)
    if candidate.shift == "periodic":
        c = np.linspace(-math.pi, math.pi, GRID_POINTS, endpoint=False)
        return np.repeat(b, len(c)), np.tile(c, len(b))
    if candidate.domain == "all":  # the centre x0 = -c/b anywhere near the samples
        x0 = np.linspace(lo - width, hi + width, GRID_POINTS)
    else:  # a singularity or branch point outside the samples, on either side
        gap = width * np.geomspace(1e-3, 10.0, GRID_POINTS)
        x0 = np.concatenate([lo - gap, hi + gap])
    bs = np.repeat(b, len(x0))
    return bs, -bs * np.tile(x0, len(b))


def _linear(f: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares (a, d) of y ~ a f + d for every row of f (G, N): (a, d, SSR), each (G,)."""
    fm = f.mean(axis=1, keepdims=True)
    fc, yc = f - fm, y - y.mean()
    ff, fy = (fc * fc).sum(axis=1), fc @ yc
    a = np.where(ff > 1e-300, fy / np.maximum(ff, 1e-300), 0.0)
    ssr = yc @ yc - a * fy
    return a, y.mean() - a * fm[:, 0], np.maximum(ssr, 0.0)


def _predict(candidate: Candidate, x: np.ndarray, p: Sequence[float]) -> np.ndarray:
    a, b, c, d = p
    return a * candidate.numpy_fn(b * x + c) + d


def fit_candidate(candidate: Candidate, x: np.ndarray, y: np.ndarray, seed: int = 0) -> Fit | None:
    """Best a f(b x + c) + d for samples x, y (N,); None when no (b, c) keeps b x + c in f's domain."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    sst = float(((y - y.mean()) ** 2).sum())
    if candidate.name == "0":
        return Fit("0", 0.0, 1.0, 0.0, float(y.mean()), float(_r2(np.array(sst), sst)), candidate.complexity)
    pick = np.random.default_rng(seed).permutation(len(x))[:GRID_SAMPLES]
    xs, ys = x[pick], y[pick]
    b, c = _grid(candidate, x)
    with np.errstate(all="ignore"):
        z = b[:, None] * xs[None, :] + c[:, None]
        f = candidate.numpy_fn(z)
        ok = np.isfinite(f).all(axis=1) & np.array([candidate.valid(row) for row in z])
        a, d, ssr = _linear(np.where(np.isfinite(f), f, 0.0), ys)
    if not ok.any():
        return None
    ssr = np.where(ok, ssr, np.inf)
    best = int(np.argmin(ssr))
    start = np.array([a[best], b[best], c[best], d[best]])
    return _polish(candidate, x, y, start, sst)


def _polish(candidate: Candidate, x: np.ndarray, y: np.ndarray, start: np.ndarray, sst: float) -> Fit:
    """Refine the free parameters of ``start`` (a, b, c, d) on all samples, keeping the domain."""
    free = [i for i, k in enumerate("abcd") if k in candidate.free]
    f0 = candidate.numpy_fn(start[1] * x + start[2])
    a, d, _ = _linear(f0[None, :], y)  # (a, d) for the grid's (b, c) on every sample
    start = np.array([a[0], start[1], start[2], d[0]])

    def residual(q: np.ndarray) -> np.ndarray:
        p = start.copy()
        p[free] = q
        with np.errstate(all="ignore"):
            r = _predict(candidate, x, p) - y
        return np.where(np.isfinite(r), r, 1e6)

    best = start
    if set(candidate.free) - {"a", "d"}:  # nonlinear parameters to refine
        sol = least_squares(residual, start[free], method="lm", x_scale="jac", xtol=1e-14, ftol=1e-14, gtol=1e-14,
                            max_nfev=POLISH_EVALUATIONS)
        p = start.copy()
        p[free] = sol.x
        with np.errstate(all="ignore"):
            z = p[1] * x + p[2]
            fine = candidate.valid(z) and np.isfinite(candidate.numpy_fn(z)).all()
        if fine and (residual(sol.x) ** 2).sum() <= (residual(start[free]) ** 2).sum():
            best = p
    ssr = float(((_predict(candidate, x, best) - y) ** 2).sum())
    fit = Fit(candidate.name, *map(float, best), float(_r2(np.array(ssr), sst)), candidate.complexity)
    return _canonical(candidate, fit)


def _canonical(candidate: Candidate, fit: Fit) -> Fit:
    """One representative of equal functions: b > 0 for even/odd f, a > 0 and c in [-pi, pi) for
    periodic ones (a sin(z + pi) = -a sin z)."""
    a, b, c = fit.a, fit.b, fit.c
    if candidate.symmetric and b < 0:
        odd = candidate.name in ("sin", "tanh")
        a, b, c = (-a if odd else a), -b, -c
    if candidate.shift == "periodic":
        if a < 0:
            a, c = -a, c + math.pi
        c = (c + math.pi) % (2 * math.pi) - math.pi
    return replace(fit, a=a, b=b, c=c)


def fit_edge(candidates: Sequence[Candidate], x: np.ndarray, y: np.ndarray, seed: int = 0) -> list[Fit]:
    """Every candidate's fit to the samples x, y (N,), best R^2 first (simpler first on ties)."""
    fits = [f for f in (fit_candidate(c, x, y, seed) for c in candidates) if f is not None]
    return sorted(fits, key=lambda f: (-round(f.r2, 12), f.complexity))


def choose(fits: Sequence[Fit], r2_tol: float = 1e-3) -> Fit:
    """The simplest fit whose R^2 is within ``r2_tol`` of the best (the best R^2 among those)."""
    best = max(f.r2 for f in fits)
    close = [f for f in fits if f.r2 >= best - r2_tol]
    return min(close, key=lambda f: (f.complexity, -f.r2))


__all__ = ["Fit", "choose", "fit_candidate", "fit_edge"]
