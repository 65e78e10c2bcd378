"""Fine finite-difference reference for the steady lid-driven cavity (unit square, lid y = 1 at u = 1).

Stream function-vorticity on a uniform (n+1) x (n+1) grid, 2nd-order central differences:
lap psi = -w, psi_y w_x - psi_x w_y = lap w / Re, psi = 0 and Thom's w = -2 (psi_adj + h U) / h^2 on
the walls, solved by Newton (sparse Jacobian, spsolve) from the Stokes solution (continuation for Re > 100).
u = psi_y, v = -psi_x; p is the weighted least-squares potential of the momentum equation on the grid
edges, grad p = f = (-w_y, w_x) / Re - u.grad u, i.e. the pressure Poisson equation div(c grad p) = div(c f)
with the Neumann condition c (grad p - f).n = 0 from the momentum equation on the walls, where
c = min(1, (r / 0.1)^2) (r: distance to a lid corner) mutes the singular lid corners; p(0, 0) = 0.
Prints the n vs n/2 grid difference and the difference from Ghia et al. (1982), writes an .npz.

    python -m kanpde.references.lid_cavity [--re 100] [--n 400] [--out problems/data/lid_cavity_re100.npz]
        [--points 101]      (n = 400: about 1 minute on one core, 1.7 GB)
"""
from __future__ import annotations

import argparse
import importlib.resources
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.interpolate import CubicSpline, RegularGridInterpolator
from scipy.sparse.linalg import spsolve

from ..pde.reference import read_reference

CORNER_RADIUS = 0.1  # the radius over which the lid corners are muted in the pressure fit


def problem_data() -> Path:
    """The shipped problems' data folder (problems/data: Ghia's tables in ghia1982/re<Re>_u.csv and
    re<Re>_v.csv, and the .npz this module writes), in the source tree or the installed package."""
    return Path(str(importlib.resources.files("kanpde.problems") / "data"))


def ghia(re: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Ghia, Ghia & Shin (1982) at ``re`` (the shipped tables: 100, 400, 1000), else None: y and u
    on x = 0.5, x and v on y = 0.5, each (17,), at their nodes k/128."""
    tables = problem_data() / "ghia1982"
    if not (tables / f"re{re:g}_u.csv").is_file():
        return None
    (yu, u), (xv, v) = (read_reference(tables / f"re{re:g}_{f}.csv", ("x", "y"), (f,)) [:2] for f in ("u", "v"))
    return yu[:, 1], u[:, 0], xv[:, 0], v[:, 0]


def operators(n: int) -> tuple[sp.csr_matrix, sp.csr_matrix, sp.csr_matrix]:
    """Central d/dx, d/dy and the 5-point Laplacian on the flattened (n+1)^2 grid (rows of wall
    nodes are zero); C order with x slowest, so node (i, j) is i (n+1) + j."""
    h, eye = 1.0 / n, sp.identity(n + 1, format="csr")
    d1 = sp.diags([-np.ones(n), np.ones(n)], [-1, 1], format="lil") / (2 * h)
    d2 = sp.diags([np.ones(n), -2 * np.ones(n + 1), np.ones(n)], [-1, 0, 1], format="lil") / h**2
    for d in (d1, d2):
        d[0, :], d[n, :] = 0, 0
    d1, d2 = d1.tocsr(), d2.tocsr()
    return sp.kron(d1, eye, "csr"), sp.kron(eye, d1, "csr"), (sp.kron(d2, eye) + sp.kron(eye, d2)).tocsr()


def walls(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat indices of the interior nodes ((n-1)^2,), of the wall nodes without corners (4 (n-1),)
    and of their interior neighbours (4 (n-1),), walls in the order bottom, top, left, right."""
    idx, k = np.arange((n + 1) ** 2).reshape(n + 1, n + 1), np.arange(1, n)
    wall = np.concatenate([idx[k, 0], idx[k, n], idx[0, k], idx[n, k]])
    neighbour = np.concatenate([idx[k, 1], idx[k, n - 1], idx[1, k], idx[n - 1, k]])
    return idx[1:n, 1:n].ravel(), wall, neighbour


def solve_streamfunction(re: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Newton solve of the discrete psi-w equations: psi, w on the full grid, each ((n+1)^2,); the
    corner w (unused by the scheme) is left 0."""
    h, size, m = 1.0 / n, (n + 1) ** 2, (n - 1) ** 2
    dx, dy, lap = operators(n)
    inner, wall, neighbour = walls(n)
    embed = sp.csr_matrix((np.ones(m), (inner, np.arange(m))), shape=(size, m))
    position = np.zeros(size, dtype=int)
    position[inner] = np.arange(m)
    thom = sp.csr_matrix((np.full(wall.size, -2 / h**2), (wall, position[neighbour])), shape=(size, m))
    lid = np.zeros(size)
    lid[wall[n - 1:2 * (n - 1)]] = -2 / h  # Thom's lid term -2 U h / h^2, U = 1
    rows = embed.T.tocsr()  # keeps the interior rows
    lap_in, dx_in, dy_in = rows @ lap, rows @ dx, rows @ dy
    lap_e, dx_e, dy_e = lap_in @ embed, dx_in @ embed, dy_in @ embed
    lap_t, dx_t, dy_t = lap_in @ thom, dx_in @ thom, dy_in @ thom
    x, diag = np.zeros(2 * m), sp.diags  # x = (psi, w) at the interior nodes
    levels = max(0, int(np.ceil(np.log2(re / 100))))  # continuation: Re / 2^k, the first <= 100
    for stage in re / 2.0 ** np.arange(levels, -1, -1):
        for _ in range(30):
            psi, w = embed @ x[:m], embed @ x[m:] + thom @ x[:m] + lid
            px, py, wx, wy = dx_in @ psi, dy_in @ psi, dx_in @ w, dy_in @ w
            f = np.concatenate([lap_e @ x[:m] + x[m:], lap_in @ w / stage - py * wx + px * wy])
            j_psi = lap_t / stage - diag(wx) @ dy_e - diag(py) @ dx_t + diag(wy) @ dx_e + diag(px) @ dy_t
            j_w = lap_e / stage - diag(py) @ dx_e + diag(px) @ dy_e
            step = spsolve(sp.bmat([[lap_e, sp.identity(m)], [j_psi, j_w]], format="csc"), -f)
            x += step
            if np.abs(step[:m]).max() < 1e-12:  # quadratic convergence: psi to round-off
                break
        else:
            raise RuntimeError(f"Newton did not converge at Re = {stage}")
    return embed @ x[:m], embed @ x[m:] + thom @ x[:m] + lid


def pressure(u: np.ndarray, v: np.ndarray, w: np.ndarray, re: float) -> np.ndarray:
    """p on the grid ((n+1, n+1), p[0, 0] = 0) from u, v, w ((n+1, n+1), w with its corners set):
    weighted least squares of (p_b - p_a) / h = f on every grid edge, f = (-w_y, w_x) / Re - u.grad u
    (np.gradient: central inside, one-sided 2nd order on the walls) averaged onto the edge."""
    n = u.shape[0] - 1
    h, s = 1.0 / n, np.arange(n + 1) / n
    (wx, wy), (ux, uy), (vx, vy) = (np.gradient(a, h, edge_order=2) for a in (w, u, v))
    fx, fy = -wy / re - (u * ux + v * uy), wx / re - (u * vx + v * vy)
    diff = sp.diags([-np.ones(n), np.ones(n)], [0, 1], shape=(n, n + 1)) / h
    eye = sp.identity(n + 1)
    grad = sp.vstack([sp.kron(diff, eye), sp.kron(eye, diff)]).tocsr()
    mid = (s[1:] + s[:-1]) / 2
    ex, ey = np.meshgrid(mid, s, indexing="ij"), np.meshgrid(s, mid, indexing="ij")
    edge_x = np.concatenate([ex[0].ravel(), ey[0].ravel()])
    edge_y = np.concatenate([ex[1].ravel(), ey[1].ravel()])
    r = np.minimum(np.hypot(edge_x, edge_y - 1), np.hypot(edge_x - 1, edge_y - 1))
    c = sp.diags(np.minimum(1.0, (r / CORNER_RADIUS) ** 2))
    f = np.concatenate([((fx[1:] + fx[:-1]) / 2).ravel(), ((fy[:, 1:] + fy[:, :-1]) / 2).ravel()])
    a, b = (grad.T @ c @ grad).tocsc(), grad.T @ (c @ f)
    p = np.zeros((n + 1) ** 2)
    p[1:] = spsolve(a[1:, 1:], b[1:])  # p[0] = p(0, 0) = 0
    return p.reshape(n + 1, n + 1)


def solve(re: float, n: int) -> dict[str, np.ndarray]:
    """Nodal fields on the (n+1) x (n+1) grid: x, y (n+1,) and u, v, p, psi (n+1, n+1) indexed
    [i_x, i_y]; u = 1 on the whole lid y = 1 (corners included), u = v = 0 on the other walls."""
    h, s = 1.0 / n, np.linspace(0.0, 1.0, n + 1)
    psi, w = (a.reshape(n + 1, n + 1) for a in solve_streamfunction(re, n))
    u, v = np.zeros_like(psi), np.zeros_like(psi)
    u[1:-1, 1:-1] = (psi[1:-1, 2:] - psi[1:-1, :-2]) / (2 * h)
    v[1:-1, 1:-1] = -(psi[2:, 1:-1] - psi[:-2, 1:-1]) / (2 * h)
    u[:, n] = 1.0
    for i, j, di, dj in ((0, 0, 1, 1), (n, 0, -1, 1), (0, n, 1, -1), (n, n, -1, -1)):
        w[i, j] = (w[i + di, j] + w[i, j + dj]) / 2  # corners: mean of the two wall neighbours
    return {"x": s, "y": s.copy(), "u": u, "v": v, "p": pressure(u, v, w, re), "psi": psi}


def centrelines(fields: dict[str, np.ndarray], y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """u on x = 0.5 at the heights y and v on y = 0.5 at the abscissae x (cubic spline along the
    grid lines x = 0.5 and y = 0.5, which needs an even n)."""
    n = fields["u"].shape[0] - 1
    assert n % 2 == 0, "x = 0.5 and y = 0.5 must be grid lines"
    return CubicSpline(fields["y"], fields["u"][n // 2])(y), CubicSpline(fields["x"], fields["v"][:, n // 2])(x)


def sample(fields: dict[str, np.ndarray], points: int) -> dict[str, np.ndarray]:
    """x, y, u, v, p at the points x points grid on [0, 1]^2 (C order, x slowest), each
    (points^2,): the grid nodes themselves where they coincide, else cubic interpolation."""
    n = fields["u"].shape[0] - 1
    s = np.linspace(0.0, 1.0, points)
    x, y = np.meshgrid(s, s, indexing="ij")
    if n % (points - 1) == 0:
        k = n // (points - 1)
        values = {key: fields[key][::k, ::k] for key in ("u", "v", "p")}
    else:
        at = np.stack([x.ravel(), y.ravel()], 1)
        values = {key: RegularGridInterpolator((fields["x"], fields["y"]), fields[key], method="cubic")(at)
                  for key in ("u", "v", "p")}
    return {"x": x.ravel(), "y": y.ravel(), **{key: np.ravel(a) for key, a in values.items()}}


def main() -> None:
    """Solve on the n and n/2 grids, print the accuracy, write the .npz."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--re", type=float, default=100.0)
    parser.add_argument("--n", type=int, default=400, help="cells per side, a multiple of 4")
    parser.add_argument("--out", type=Path, default=None, help="default problems/data/lid_cavity_re<Re>.npz")
    parser.add_argument("--points", type=int, default=101, help="output points per side, walls included")
    args = parser.parse_args()
    if args.n % 4 or args.n < 8:
        parser.error("--n must be a multiple of 4 (x = 0.5 a grid line on the n/2 grid too)")
    out = args.out or problem_data() / f"lid_cavity_re{args.re:g}.npz"
    start = time.perf_counter()
    fine, coarse = solve(args.re, args.n), solve(args.re, args.n // 2)
    table = ghia(args.re)
    at = (table[0], table[2]) if table is not None else (np.linspace(0, 1, 129),) * 2
    (u_f, v_f), (u_c, v_c) = centrelines(fine, *at), centrelines(coarse, *at)
    du, dv = np.abs(u_f - u_c).max(), np.abs(v_f - v_c).max()
    grid, grid_c = sample(fine, args.points), sample(coarse, args.points)
    far = np.minimum(np.hypot(grid["x"], grid["y"] - 1), np.hypot(grid["x"] - 1, grid["y"] - 1)) >= 0.1
    dp = np.abs(grid["p"] - grid_c["p"])[far].max()
    lines = [(f"Re = {args.re:g}, n = {args.n} vs n/2 = {args.n // 2}, at Ghia's centreline points: "
              f"max |u_n - u_n/2| = {du:.2e}, max |v_n - v_n/2| = {dv:.2e}; Richardson error estimate "
              f"of the n grid (2nd order, /3): u {du / 3:.1e}, v {dv / 3:.1e}"),
             (f"p on the {args.points}^2 output points at distance >= 0.1 from the lid corners: "
              f"max |p_n - p_n/2| = {dp:.2e}, Richardson estimate {dp / 3:.1e} (p is singular at the lid corners)")]
    if table is not None:
        eu, ev = u_f - table[1], v_f - table[3]
        lines.append(f"vs Ghia et al. (1982) Tables I/II: u max {np.abs(eu).max():.2e} RMS "
                     f"{np.sqrt(np.mean(eu**2)):.2e}; v max {np.abs(ev).max():.2e} RMS {np.sqrt(np.mean(ev**2)):.2e}")
    print("\n".join(lines))
    note = (f"Steady lid-driven cavity, Re = {args.re:g}, lid u = 1 on y = 1 (corners included), p(0, 0) = 0. "
            f"Stream function-vorticity, 2nd-order central differences on a uniform {args.n + 1}^2 grid, "
            f"Thom wall vorticity, Newton; u = psi_y, v = -psi_x; p from the momentum equation (weighted "
            f"pressure Poisson, muted within 0.1 of the singular lid corners, where its values mean nothing). "
            f"Values {'at grid nodes' if args.n % (args.points - 1) == 0 else 'cubic-interpolated'} on "
            f"{args.points}^2 points. " + "; ".join(lines) + ". Written by python -m kanpde.references.lid_cavity.")
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **grid, re=np.float64(args.re), n=np.int64(args.n), note=np.array(note))
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} kB) in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
