"""A snapped network as one sympy expression per output, in the problem's input names.

The expression composes the input normalisation z = (x - shift) * inv_half_width (and the
(cos, sin) pair of a periodic input) with every layer's sum of a f(b z + c) + d. ``tidy`` expands
it so equal terms merge, replaces every constant within a tolerance of a simple fraction
(denominator <= 12) or such a fraction times pi by that number (other constants keep ``digits``
significant digits), writes cos(c |z|) as cos(c z), and simplifies.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Sequence

import numpy as np
import sympy

from ..nets import SolutionNet
from .library import LIBRARY
from .symbolic_net import SymbolicKAN

MAX_SIMPLIFY_OPS = 400  # sympy.simplify is skipped on larger expressions (it can take minutes)


def input_symbols(names: Sequence[str]) -> list[sympy.Symbol]:
    """Real sympy symbols for the problem's inputs."""
    return [sympy.Symbol(n, real=True) for n in names]


def network_expressions(net: SolutionNet, names: Sequence[str]) -> list[sympy.Expr]:
    """One expression per output of ``net`` (whose core is a SymbolicKAN) in the inputs ``names``."""
    core = net.core
    if not isinstance(core, SymbolicKAN):
        raise TypeError(f"the network's core is a {type(core).__name__}, not a SymbolicKAN")
    shift, scale = net.shift.double().tolist(), net.inv_half_width.double().tolist()
    z = [(s - sympy.Float(c)) * sympy.Float(k) for s, c, k in zip(input_symbols(names), shift, scale)]
    nodes = [z[k] for k in net.plain] + [sympy.cos(z[k]) for k in net.periodic] + [sympy.sin(z[k]) for k in net.periodic]
    for layer in core.layers:
        out = [sympy.S.Zero] * layer.n_out
        for (i, o), (name, (a, b, c, d)) in sorted(layer.edges().items()):
            f = LIBRARY[name].sympy_fn(sympy.Float(b) * nodes[i] + sympy.Float(c))
            out[o] += sympy.Float(a) * f + sympy.Float(d)
        nodes = out
    return nodes


def nice_number(value: float, tol: float = 1e-6, max_denominator: int = 12, digits: int = 6) -> sympy.Expr:
    """p/q or p/q * pi (q <= max_denominator) when within tol * max(1, |value|) of ``value``, else
    ``value`` to ``digits`` significant digits."""
    for base in (sympy.S.One, sympy.pi):
        frac = Fraction(value / float(base)).limit_denominator(max_denominator)
        if abs(float(frac) * float(base) - value) <= tol * max(1.0, abs(value)):
            return sympy.Rational(frac.numerator, frac.denominator) * base
    return sympy.Float(f"{value:.{digits}g}")


def _scaled_abs(arg: sympy.Expr) -> bool:
    """Whether ``arg`` is c |z| for a number c."""
    factors = sympy.Mul.make_args(arg)
    return sum(isinstance(f, sympy.Abs) for f in factors) == 1 and all(f.is_number or isinstance(f, sympy.Abs)
                                                                       for f in factors)


def even_of_abs(expr: sympy.Expr) -> sympy.Expr:
    """cos(c |z|) -> cos(c z): cosine is even (sympy does not see it)."""
    return expr.replace(lambda e: isinstance(e, sympy.cos) and _scaled_abs(e.args[0]),
                        lambda e: sympy.cos(e.args[0].replace(sympy.Abs, lambda z: z)))


def tidy(expr: sympy.Expr, tol: float = 1e-6, digits: int = 6) -> sympy.Expr:
    """Merge, round (``nice_number``) and simplify the constants of ``expr``."""
    expr = sympy.expand(expr)
    expr = expr.xreplace({f: nice_number(float(f), tol, digits=digits) for f in expr.atoms(sympy.Float)})
    expr = even_of_abs(expr)
    if sympy.count_ops(expr) > MAX_SIMPLIFY_OPS:
        return expr
    for _ in range(2):  # cos(c |z|) may show only after a first simplification
        simpler = even_of_abs(sympy.simplify(expr))
        expr = simpler if sympy.count_ops(simpler) <= sympy.count_ops(expr) else expr
    return expr


def evaluate(expr: sympy.Expr, names: Sequence[str], points: np.ndarray) -> np.ndarray:
    """The expression at points (N, len(names)) as an (N,) float64 array."""
    f = sympy.lambdify(input_symbols(names), expr, modules="numpy")
    with np.errstate(all="ignore"):
        values = f(*np.asarray(points, dtype=np.float64).T)
    return np.broadcast_to(np.asarray(values, dtype=np.float64), (len(points),)).copy()


def as_text(outputs: Sequence[str], exprs: Sequence[sympy.Expr]) -> str:
    """One line ``u = ...`` per output, in sympy's plain syntax (sympy.sympify reads it back)."""
    return "".join(f"{name} = {sympy.sstr(e)}\n" for name, e in zip(outputs, exprs))


def as_latex(outputs: Sequence[str], exprs: Sequence[sympy.Expr]) -> str:
    """One LaTeX equation line per output."""
    return "".join(f"{sympy.latex(sympy.Symbol(name))} = {sympy.latex(e)}\n" for name, e in zip(outputs, exprs))


__all__ = ["as_latex", "as_text", "evaluate", "even_of_abs", "input_symbols", "network_expressions", "nice_number", "tidy"]
