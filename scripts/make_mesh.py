"""Write the shipped 2-D mesh: the plate [0, 2] x [0, 1] minus the disk |x - (0.6, 0.5)| < 0.25.

Boundary nodes are spaced about H apart on the rectangle and on the circle; interior nodes start
on a hexagonal lattice of spacing H (kept at least 0.6 H from the boundary) and are smoothed by a
few Laplacian sweeps. scipy's Delaunay triangulates all nodes, and triangles whose centroid lies
in the hole are dropped. The output is deterministic (no randomness anywhere).

    python scripts/make_mesh.py [OUT]   (default: problems/data/plate_with_hole.msh, gmsh 2.2 ascii)
"""
from __future__ import annotations

import sys
from pathlib import Path

import meshio
import numpy as np
from scipy.spatial import Delaunay

WIDTH, HEIGHT = 2.0, 1.0
CENTER, RADIUS = np.array([0.6, 0.5]), 0.25
H = 0.04  # target edge length
SWEEPS = 8  # Laplacian smoothing sweeps of the interior nodes
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "problems" / "data" / "plate_with_hole.msh"


def boundary_nodes() -> np.ndarray:
    """Rectangle nodes (counter-clockwise, corners included once) then circle nodes: (B, 2)."""
    nx, ny = round(WIDTH / H), round(HEIGHT / H)
    sx, sy = np.arange(nx) / nx, np.arange(ny) / ny
    rectangle = np.concatenate([
        np.stack([WIDTH * sx, np.zeros(nx)], 1), np.stack([np.full(ny, WIDTH), HEIGHT * sy], 1),
        np.stack([WIDTH * (1 - sx), np.full(nx, HEIGHT)], 1), np.stack([np.zeros(ny), HEIGHT * (1 - sy)], 1)])
    n_circle = round(2 * np.pi * RADIUS / H)
    theta = 2 * np.pi * np.arange(n_circle) / n_circle
    return np.concatenate([rectangle, CENTER + RADIUS * np.stack([np.cos(theta), np.sin(theta)], 1)])


def boundary_distance(p: np.ndarray) -> np.ndarray:
    """(n,) distance from points p (n, 2) in the plate to its boundary (rectangle or circle)."""
    to_rectangle = np.minimum.reduce([p[:, 0], WIDTH - p[:, 0], p[:, 1], HEIGHT - p[:, 1]])
    return np.minimum(to_rectangle, np.linalg.norm(p - CENTER, axis=1) - RADIUS)


def interior_nodes() -> np.ndarray:
    """Hexagonal lattice nodes at least 0.6 H inside the plate: (I, 2)."""
    dy = H * np.sqrt(3) / 2
    rows = [np.stack([np.arange(0, WIDTH + H, H) + (H / 2) * (i % 2), np.full_like(np.arange(0, WIDTH + H, H), y)], 1)
            for i, y in enumerate(np.arange(dy / 2, HEIGHT, dy))]
    lattice = np.concatenate(rows)
    return lattice[boundary_distance(lattice) >= 0.6 * H]


def triangulate(nodes: np.ndarray) -> np.ndarray:
    """Delaunay triangles (M, 3) of nodes (n, 2), those with their centroid in the hole dropped."""
    tri = Delaunay(nodes)
    if len(tri.coplanar):
        raise RuntimeError("Delaunay left nodes out of the triangulation")
    centroids = nodes[tri.simplices].mean(axis=1)
    return tri.simplices[np.linalg.norm(centroids - CENTER, axis=1) > RADIUS]


def smooth(nodes: np.ndarray, n_fixed: int) -> np.ndarray:
    """SWEEPS Jacobi sweeps moving each node after the first n_fixed to its neighbours' mean."""
    for _ in range(SWEEPS):
        cells = triangulate(nodes)
        edges = np.unique(np.sort(np.concatenate([cells[:, [0, 1]], cells[:, [1, 2]], cells[:, [2, 0]]]), 1), axis=0)
        total, count = np.zeros_like(nodes), np.zeros(len(nodes))
        for a, b in (edges.T, edges.T[::-1]):
            np.add.at(total, a, nodes[b])
            np.add.at(count, a, 1.0)
        nodes = np.concatenate([nodes[:n_fixed], total[n_fixed:] / count[n_fixed:, None]])
    return nodes


def min_angle_degrees(nodes: np.ndarray, cells: np.ndarray) -> float:
    """The smallest interior angle over all triangles."""
    p = nodes[cells]
    angles = []
    for i in range(3):
        u, v = p[:, (i + 1) % 3] - p[:, i], p[:, (i + 2) % 3] - p[:, i]
        cos = (u * v).sum(1) / (np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1))
        angles.append(np.degrees(np.arccos(np.clip(cos, -1, 1))))
    return float(np.min(angles))


def main(out: Path = DEFAULT_OUT) -> None:
    boundary = boundary_nodes()
    nodes = smooth(np.concatenate([boundary, interior_nodes()]), len(boundary))
    cells = triangulate(nodes)
    if np.any(boundary_distance(nodes[len(boundary):]) <= 0):
        raise RuntimeError("smoothing moved a node out of the plate")
    edges, counts = np.unique(np.sort(np.concatenate([cells[:, [0, 1]], cells[:, [1, 2]], cells[:, [2, 0]]]), 1),
                              axis=0, return_counts=True)
    if np.sum(counts == 1) != len(boundary) or np.any(edges[counts == 1] >= len(boundary)):
        raise RuntimeError("the triangulation does not conform to the boundary")
    out.parent.mkdir(parents=True, exist_ok=True)
    points = np.hstack([nodes, np.zeros((len(nodes), 1))])
    ones = np.ones(len(cells), dtype=int)
    mesh = meshio.Mesh(points, [("triangle", cells)], cell_data={"gmsh:physical": [ones], "gmsh:geometrical": [ones]})
    meshio.write(out, mesh, file_format="gmsh22", binary=False, float_fmt=".12g")
    print(f"{out}: {len(nodes)} nodes, {len(cells)} triangles, min angle {min_angle_degrees(nodes, cells):.1f} deg")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT)
