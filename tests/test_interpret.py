"""Looking inside a trained KAN: fits, pruning, sparsity, formulas, the kanpde-interpret command."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy
import torch
from kanpde.errors import KanpdeError
from kanpde.interpret.fit import Fit, choose, fit_candidate, fit_edge
from kanpde.interpret.formula import evaluate, network_expressions, nice_number, tidy
from kanpde.interpret.library import LIBRARY, select
from kanpde.interpret.prune import live_parameters, prune
from kanpde.interpret.symbolic_net import SymbolicKAN
from kanpde.io import read_history
from kanpde.nets import KAN, BSpline, SolutionNet
from kanpde.nets.edges import edge_activations
from kanpde.nets.sparsity import regularizer
from kanpde.pde import derivatives

from helpers import make_config, train

# (a, b, c, d) in each candidate's canonical form, with b x + c inside f's domain on [-1, 1]
TRUE = {"x": (1.5, 1, 0, 0.3), "x^2": (0.7, 1, 0.4, -0.2), "x^3": (-1.2, 1, -0.3, 0.1), "1/x": (0.8, 1, 1.7, 0.2),
        "sqrt": (1.3, -1, 2.5, -0.4), "exp": (0.6, 1.7, 0, 0.3), "log": (0.9, 1, 1.6, 0.2),
        "sin": (1.2, 2.5, 0.7, -0.1), "cos": (0.8, 3.1, -1.1, 0.4), "tanh": (1.1, 2.2, 0.5, 0.2),
        "abs": (0.9, 1, -0.3, 0.1), "gaussian": (1.4, 1.8, 0.6, -0.3), "0": (0.0, 1, 0, 0.7)}


def test_every_library_function_is_tested():
    assert set(TRUE) == set(LIBRARY)


@pytest.mark.parametrize("name", sorted(TRUE))
def test_fit_recovers_the_affine_parameters_from_noisy_samples(name):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 1000)
    a, b, c, d = TRUE[name]
    y = a * LIBRARY[name].numpy_fn(b * x + c) + d
    y = y + 1e-3 * (y.std() or 1.0) * rng.standard_normal(len(x))  # noise of 1e-3 of the signal
    fit = fit_candidate(LIBRARY[name], x, y)
    assert fit.name == name and np.allclose(fit.params, TRUE[name], atol=1e-2, rtol=1e-2), fit
    assert fit.r2 > 1 - 2e-6 if name != "0" else fit.r2 == 0.0, fit  # 1 - R^2 = noise variance / variance


def test_fits_are_ranked_and_the_simplest_close_one_is_chosen():
    x = np.linspace(-1, 1, 400)
    fits = fit_edge(select(), x, 0.5 * np.sin(1.2 * x) + 0.1)  # nearly a line: 1 - R^2 of x is 4.5e-3
    assert [f.r2 for f in fits] == sorted((f.r2 for f in fits), reverse=True)
    assert fits[0].name in ("sin", "cos") and fits[0].r2 > 1 - 1e-12
    assert choose(fits, 1e-2).name == "x" and choose(fits, 1e-6).name == "sin"
    assert 4e-3 < 1 - next(f.r2 for f in fits if f.name == "x") < 5e-3


def test_unknown_library_name_is_refused():
    with pytest.raises(KanpdeError, match="unknown library function 'sinh'; choices: x, x\\^2"):
        select(["x", "sinh"])


def test_edge_activations_sum_to_the_layer_outputs(float64):
    torch.manual_seed(0)
    kan = KAN([2, 3, 2], basis=BSpline(grid_size=4, order=3), base_activation=True)
    with torch.no_grad():
        kan.layers[0].base.normal_()
    x = 2 * torch.rand(64, 2) - 1
    acts = edge_activations(kan, x)
    assert [v.shape for v in acts.values] == [(64, 2, 3), (64, 3, 2)]
    assert torch.allclose(acts.values[0].sum(1), kan.layers[0](x), atol=1e-14)
    assert torch.allclose(acts.values[1].sum(1), kan(x), atol=1e-14)
    assert torch.allclose(acts.l1()[1], acts.values[1].abs().mean(0))


def _linear_kan(slopes0, slopes1) -> KAN:
    """A [2, 2, 1] KAN whose edges are exactly phi_io(x) = s_io x on [-1, 1] (cubic B-splines
    reproduce lines on their grid)."""
    kan = KAN([2, 2, 1], basis=BSpline(grid_size=4, order=3))
    with torch.no_grad():
        for layer, s in zip(kan.layers, (slopes0, slopes1)):
            ident = layer.basis.identity_coefficients()  # (n_in, n_basis)
            layer.coef.copy_(torch.tensor(s)[..., None] * ident[:, None, :])
            layer.scale.fill_(1.0)
    return kan


def test_sparsity_regularizer_is_the_l1_plus_entropy_of_the_kan_paper(float64):
    s0, s1 = [[0.3, 0.2], [0.1, -0.4]], [[0.5], [0.25]]
    kan = _linear_kan(s0, s1)
    x = torch.linspace(-1, 1, 201)[:, None].repeat(1, 2)
    x[:, 1] = x[:, 1].flip(0) * 0.5
    m = x.abs().mean(0).numpy()  # mean |x_i|
    l1_0 = np.abs(s0) * m[:, None]
    h = x.numpy() @ np.array(s0)  # hidden values
    l1_1 = np.abs(s1) * np.abs(h).mean(0)[:, None]

    def layer(l1):
        p = l1 / l1.sum()
        return l1.sum(), -(p * np.log(p)).sum()

    expected = sum(1.0 * a + 2.0 * b for a, b in map(layer, (l1_0, l1_1)))
    assert float(regularizer(kan, x, l1=1.0, entropy=2.0).detach()) == pytest.approx(expected, rel=1e-10)
    assert float(regularizer(kan, x, l1=0.0, entropy=1.0).detach()) == pytest.approx(layer(l1_0)[1] + layer(l1_1)[1], rel=1e-10)


@pytest.mark.slow
def test_sparsity_is_a_named_loss_term_when_on(tmp_path):
    small = ("sampler.n_interior=64", "sampler.n_boundary=32", "output.figures=false", "output.progress=false",
             "model=kan_tiny", "optim.adam.steps=20", "optim.lbfgs.steps=0")
    on = train(make_config(*small, "optim.sparsity.weight=0.01"), tmp_path / "on")
    off = train(make_config(*small), tmp_path / "off")
    history = read_history(tmp_path / "on" / "history.h5")
    assert "sparsity" in on["final_loss_terms"] and len(history["loss_terms/sparsity"]) == 20
    terms = on["final_loss_terms"]
    assert on["final_loss"] == pytest.approx(terms["pde"] + 10 * terms["boundary"] + 0.01 * terms["sparsity"])
    assert "sparsity" not in off["final_loss_terms"]
    assert "loss_terms/sparsity" not in read_history(tmp_path / "off" / "history.h5")


def test_pruned_kan_computes_the_same_where_the_pruned_edges_were_zero(float64):
    torch.manual_seed(1)
    kan = KAN([2, 3, 1], basis=BSpline(grid_size=5, order=3), base_activation=True)
    with torch.no_grad():
        kan.layers[0].base.normal_()
        kan.layers[1].base.normal_()
        for layer, (i, o) in ((kan.layers[0], (1, 0)), (kan.layers[1], (2, 0))):  # y -> h0, and h2 -> u
            layer.coef[i, o] = 0.0
            layer.base[i, o] = 0.0
    x = 2 * torch.rand(500, 2) - 1
    pruned = prune(kan, x, threshold=1e-10)
    assert pruned.widths == [2, 2, 1] and kan.widths == [2, 3, 1]
    assert pruned.layers[0].mask.tolist() == [[1.0, 1.0], [0.0, 1.0]]
    assert torch.allclose(pruned(x), kan(x), rtol=0, atol=1e-14)
    per_edge = kan.layers[0].basis.n_basis + 2  # coefficients, scale, base weight
    assert live_parameters(kan) == 9 * per_edge and live_parameters(pruned) == 5 * per_edge
    net = SolutionNet(pruned, torch.tensor([-1.0, -1.0]), torch.tensor([1.0, 1.0]))
    jet = derivatives("jet", net, x[:50], ("x", "y"), ("u",))
    auto = derivatives("autograd", net, x[:50], ("x", "y"), ("u",))
    for wrt in ((), ("x",), ("y", "y"), ("x", "y")):
        assert torch.allclose(jet("u", *wrt), auto("u", *wrt), atol=1e-10)


def test_pruning_everything_is_refused(float64):
    kan = KAN([2, 2, 1], basis=BSpline(grid_size=3, order=3))
    with pytest.raises(KanpdeError, match="removes every node of hidden layer 1"):
        prune(kan, torch.rand(10, 2), threshold=1e3)


def test_checkpoints_from_before_the_mask_still_load():
    kan = KAN([2, 2, 1], basis=BSpline(grid_size=3, order=3))
    state = {k: v for k, v in kan.state_dict().items() if not k.endswith("mask")}
    fresh = KAN([2, 2, 1], basis=BSpline(grid_size=3, order=3))
    fresh.load_state_dict(state)
    assert all(layer.mask.eq(1).all() for layer in fresh.layers)


def _symbolic_net() -> SolutionNet:
    fits = {(0, 0, 0): Fit("sin", 1.3, 2.0, 0.3, 0.1, 1.0, 2), (0, 1, 0): Fit("x^2", 0.4, 1.0, -0.2, 0.0, 1.0, 2),
            (0, 0, 1): Fit("exp", 0.5, -0.7, 0.0, -0.3, 1.0, 2), (0, 1, 1): Fit("gaussian", 0.9, 1.1, 0.2, 0.05, 1.0, 3),
            (0, 0, 2): Fit("sqrt", 0.8, 1.0, 1.5, 0.0, 1.0, 2), (0, 1, 2): Fit("tanh", -0.6, 1.7, 0.1, 0.2, 1.0, 3),
            (1, 0, 0): Fit("cos", 0.7, 1.9, -0.4, 0.1, 1.0, 2), (1, 1, 0): Fit("log", 0.3, 1.0, 2.0, 0.0, 1.0, 2),
            (1, 2, 0): Fit("1/x", 0.2, 1.0, 3.0, 0.0, 1.0, 2)}
    core = SymbolicKAN([2, 3, 1], fits)
    return SolutionNet(core, torch.tensor([0.0, -1.0]), torch.tensor([2.0, 3.0]))  # x in [0, 2], y in [-1, 3]


@pytest.mark.slow
def test_formula_agrees_with_the_network_it_came_from(float64):
    net = _symbolic_net()
    points = np.random.default_rng(0).uniform([0, -1], [2, 3], (400, 2))
    with torch.no_grad():
        u = net(torch.as_tensor(points))[:, 0].numpy()
    (expr,) = network_expressions(net, ("x", "y"))
    assert expr.free_symbols == set(sympy.symbols("x y", real=True))
    assert np.allclose(evaluate(expr, ("x", "y"), points), u, rtol=0, atol=1e-12)
    tidied = tidy(expr, tol=1e-6, digits=6)
    assert np.allclose(evaluate(tidied, ("x", "y"), points), u, rtol=1e-5, atol=1e-5)


def test_symbolic_network_trains_its_free_parameters_only(float64):
    net = _symbolic_net()
    names = {n for n, _ in net.core.named_parameters()}
    assert "layers.0.groups.0.b" in names and "layers.0.groups.0.c" not in names  # groups by name: exp first
    free = {g.name: {k for k in "abcd" if isinstance(getattr(g, k), torch.nn.Parameter)} for g in net.core.layers[0].groups}
    assert free == {"exp": {"a", "b", "d"}, "gaussian": set("abcd"), "sin": set("abcd"), "sqrt": {"a", "c", "d"},
                    "tanh": set("abcd"), "x^2": {"a", "c", "d"}}
    loss = net(torch.rand(20, 2)).square().mean()
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())


@pytest.mark.parametrize("value,expected", [(3.14159265358, sympy.pi), (0.4999999999, sympy.Rational(1, 2)),
                                            (-1.5707963267, -sympy.pi / 2), (2e-9, sympy.S.Zero),
                                            (0.123456789, 0.123457)])
def test_constants_are_rounded_to_simple_numbers(value, expected):
    number = nice_number(value, tol=1e-6, digits=6)
    if isinstance(expected, float):  # no simple number close: six significant digits
        assert isinstance(number, sympy.Float) and float(number) == expected
    else:
        assert number == expected


def test_tidy_finds_sin_sin_in_a_cosine_difference():
    x, y = sympy.symbols("x y", real=True)
    raw = (0.50000001 * sympy.sin(3.1415926 * x - 3.1415927 * y + 1.5707963)
           + 0.4999999 * sympy.cos(3.14159265 * (x + y) + 3.14159265) + 1e-9)
    assert tidy(raw) == sympy.sin(sympy.pi * x) * sympy.sin(sympy.pi * y)
    folded = -0.5 * sympy.sin(3.14159265 * x - 3.14159265 * sympy.Abs(y + 0.5)) - 0.5 * sympy.sin(
        3.14159265 * x + 3.14159265 * sympy.Abs(y + 0.5))  # = -sin(pi x) cos(pi |y + 1/2|), cos is even
    assert tidy(folded) == sympy.sin(sympy.pi * x) * sympy.sin(sympy.pi * y)


# ----- the command ------------------------------------------------------------------------------------
def interpret_cli(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """The installed ``kanpde-interpret``, one thread (these networks are tiny; threads only contend)."""
    exe = Path(sys.executable).with_name("kanpde-interpret")
    return subprocess.run([str(exe), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


def error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("kanpde-interpret: error: "), result.stderr
    return lines[0]


RECIPE = ("model=kan_tiny", "seed=0", "optim.adam.steps=1000", "optim.lbfgs.steps=1000", "output.figures=false",
          "output.progress=false")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """The README's recipe: a [2, 2, 1] KAN trained on poisson2d."""
    run = tmp_path_factory.mktemp("tiny") / "run"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # 20x faster than 2 threads for this tiny network on a busy 2-core machine
    try:
        train(make_config(*RECIPE), run, "poisson2d", "kan_tiny")
    finally:
        torch.set_num_threads(threads)
    return run


@pytest.mark.slow
def test_bad_input_is_one_clear_line(tmp_path, tiny_run):
    assert "no such run directory" in error_line(interpret_cli(tmp_path / "nowhere", cwd=tmp_path))
    (tmp_path / "empty").mkdir()
    line = error_line(interpret_cli(tmp_path / "empty", cwd=tmp_path))
    assert f"cannot read checkpoint {tmp_path / 'empty' / 'checkpoint.pt'}: no such file" in line
    mlp = tmp_path / "mlp"
    train(make_config("model=mlp", "optim.adam.steps=3", "optim.lbfgs.steps=0", "output.figures=false",
                      "output.progress=false"), mlp)
    assert f"{mlp} is a mlp run (model.name=mlp); kanpde-interpret needs a KAN run" in error_line(
        interpret_cli(mlp, cwd=tmp_path))
    line = error_line(interpret_cli(tiny_run, "--library", "x,sinh", "--out", tmp_path / "o", cwd=tmp_path))
    assert "unknown library function 'sinh'; choices: x, x^2, x^3, 1/x, sqrt, exp, log" in line
    assert "--prune must be >= 0, got -1.0" in error_line(interpret_cli(tiny_run, "--prune", "-1", cwd=tmp_path))
    result = interpret_cli(tiny_run, "--symbolic", "maybe", cwd=tmp_path)
    assert result.returncode == 2 and "argument --symbolic: invalid choice: 'maybe'" in error_line(result)
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_poisson2d_tiny_kan_gives_back_sin_pi_x_sin_pi_y(tmp_path, tiny_run):
    """Acceptance: train -> prune -> snap -> train the formula; the formula is sin(pi x) sin(pi y)."""
    out = tmp_path / "interpret"
    result = interpret_cli(tiny_run, "--prune", "1e-2", "--out", out, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "u = sin(pi*x)*sin(pi*y)" in result.stdout
    for name in ("edges.png", "edge_grid.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "edges.pdf").read_bytes()[:4] == b"%PDF"
    text = (out / "formula.txt").read_text()
    lhs, rhs = text.split("=", 1)
    x, y = sympy.symbols("x y")
    assert lhs.strip() == "u" and sympy.simplify(sympy.sympify(rhs) - sympy.sin(sympy.pi * x) * sympy.sin(sympy.pi * y)) == 0
    assert (out / "formula.tex").read_text().strip() == r"u = \sin{\left(\pi x \right)} \sin{\left(\pi y \right)}"
    summary = json.loads((out / "symbolic.json").read_text())
    assert summary["formula_rel_l2"] <= 1e-6 and summary["stages"]["symbolic"]["rel_l2"] <= 1e-6
    stages = summary["stages"]
    assert stages["trained"]["widths"] == [2, 2, 1] and stages["trained"]["parameters"] == 90
    assert stages["pruned"]["threshold"] == 1e-2 and stages["trained"]["rel_l2"] < 2e-2
    first = [e["function"] for e in summary["edges"] if e["layer"] == 1]
    last = [e["function"] for e in summary["edges"] if e["layer"] == 2]
    assert first == ["x"] * 4 and set(last) <= {"sin", "cos"} and len(last) == 2
    assert all(e["r2"] > 0.999 for e in summary["edges"])
    trained = [e["trained"] for e in summary["edges"] if e["layer"] == 2]
    assert all(abs(abs(t["a"]) - 0.5) < 1e-6 for t in trained)  # (cos pi(x - y) - cos pi(x + y)) / 2
    assert not [p.name for p in out.iterdir() if ".tmp" in p.name]
    assert math.isfinite(summary["formula_vs_network_max_abs"]) and summary["formula_vs_network_max_abs"] < 1e-12
