"""Round trips and failure modes of the run-file readers and writers in kanpde.io."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from kanpde.errors import KanpdeError
from kanpde.io import (
    atomic_path,
    load_checkpoint,
    read_history,
    read_json,
    save_checkpoint,
    write_history,
    write_json,
)


def leftovers(directory):
    """Names of temporary files left in ``directory``."""
    return [p.name for p in directory.iterdir() if ".tmp-" in p.name]


def test_json_round_trip_converts_numpy_and_non_finite(tmp_path):
    path = tmp_path / "summary.json"
    obj = {
        "z_first": 1,
        "rel_l2": np.float32(0.25),
        "steps": np.int64(7),
        "ok": np.bool_(True),
        "shape": (3, 4),
        "array": np.arange(3, dtype=np.float64),
        "nested": {"bad": float("nan"), "big": np.inf, "arr": np.array([1.0, -np.inf])},
        "name": "burgers",
    }
    write_json(path, obj)
    text = path.read_text()
    json.loads(text)  # strict JSON: no NaN / Infinity literals
    assert "NaN" not in text and "Infinity" not in text
    back = read_json(path)
    assert list(back) == list(obj)  # insertion order kept, not sorted
    assert back["rel_l2"] == 0.25 and back["steps"] == 7 and back["ok"] is True
    assert back["shape"] == [3, 4] and back["array"] == [0.0, 1.0, 2.0]
    assert back["nested"] == {"bad": None, "big": None, "arr": [1.0, None]}
    assert back["name"] == "burgers"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("content", [None, "", "{not json", "[1, 2]", b"\xff\xfe\x00"])
def test_read_json_errors_name_the_file(tmp_path, content):
    path = tmp_path / "summary.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(KanpdeError, match="cannot read .*summary.json") as info:
        read_json(path)
    assert "\n" not in str(info.value)


def test_history_round_trip(tmp_path):
    path = tmp_path / "history.h5"
    n = 5
    history = {
        "step": list(range(n)),
        "phase": np.array([0, 0, 0, 1, 1]),
        "elapsed_s": np.linspace(0.0, 1.0, n),
        "lr": [1e-3] * n,
        "loss": np.array([1.0, 0.5, np.nan, 0.1, 0.05]),
        "loss_terms/pde": np.linspace(1.0, 0.1, n, dtype=np.float32),
        "loss_terms/boundary": np.linspace(0.5, 0.01, n),
        "eval/step": [0, 4],
        "eval/rel_l2": [0.9, 0.2],
    }
    write_history(path, history)
    back = read_history(path)
    assert set(back) == set(history)
    for key, values in history.items():
        expected_dtype = np.int64 if key in ("step", "phase", "eval/step") else np.float64
        assert back[key].dtype == expected_dtype, key
        assert back[key].ndim == 1
        np.testing.assert_array_equal(back[key], np.asarray(values, dtype=expected_dtype))
    assert leftovers(tmp_path) == []


def test_history_with_empty_eval_rows(tmp_path):
    path = tmp_path / "history.h5"
    write_history(path, {"step": [0, 1], "loss": [1.0, 0.5], "eval/step": [], "eval/rel_l2": []})
    back = read_history(path)
    assert back["eval/step"].shape == (0,) and back["eval/step"].dtype == np.int64


def test_history_rejects_2d_values(tmp_path):
    with pytest.raises(ValueError, match="loss"):
        write_history(tmp_path / "history.h5", {"loss": np.zeros((2, 2))})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("content", [None, b"", b"not an hdf5 file at all" * 10])
def test_read_history_errors_name_the_file(tmp_path, content):
    path = tmp_path / "history.h5"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(KanpdeError, match="cannot read .*history.h5"):
        read_history(path)


def test_checkpoint_round_trip(tmp_path):
    path = tmp_path / "ckpt.pt"
    model = torch.nn.Linear(3, 2)
    state = {"model": model.state_dict(), "step": 42, "grid": torch.linspace(-1, 1, 5), "name": "kan"}
    save_checkpoint(path, state)
    back = load_checkpoint(path)
    assert back["step"] == 42 and back["name"] == "kan"
    torch.testing.assert_close(back["grid"], state["grid"])
    for key, tensor in model.state_dict().items():
        torch.testing.assert_close(back["model"][key], tensor)
        assert back["model"][key].device.type == "cpu"
    assert leftovers(tmp_path) == []


def _truncated(path):
    save_checkpoint(path, {"w": torch.randn(64, 64)})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize(
    "make",
    [
        lambda path: None,  # missing
        lambda path: path.write_bytes(b""),  # empty
        lambda path: path.write_bytes(np.random.default_rng(0).bytes(2048)),  # garbage
        _truncated,
        lambda path: torch.save([1, 2, 3], path),  # not a dict
    ],
    ids=["missing", "empty", "garbage", "truncated", "not-a-dict"],
)
def test_unreadable_checkpoints_raise_kanpde_error(tmp_path, make):
    path = tmp_path / "ckpt.pt"
    make(path)
    with pytest.raises(KanpdeError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert message.startswith(f"cannot read checkpoint {path}: ")
    assert "\n" not in message and len(message) < 250


def test_atomic_path_exception_leaves_nothing(tmp_path):
    path = tmp_path / "out.txt"
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_path(path) as tmp:
            assert tmp.parent == tmp_path and tmp != path
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_previous_file(tmp_path):
    path = tmp_path / "summary.json"
    write_json(path, {"version": 1})
    with pytest.raises(TypeError):
        write_json(path, {"version": 2, "bad": object()})
    assert read_json(path) == {"version": 1}
    assert leftovers(tmp_path) == []


def test_atomic_path_replaces_on_success(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old")
    with atomic_path(path) as tmp:
        tmp.write_text("new")
        assert path.read_text() == "old"  # final name untouched until the block ends
    assert path.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
