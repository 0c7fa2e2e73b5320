"""The README's Python tour runs as written (on real MNIST, in a scratch folder)."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.mark.filterwarnings("ignore:KL sparsity assumes:UserWarning")  # the tour's own model
def test_the_python_tour_runs(mnist_root, tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks, "README.md has no Python block"
    monkeypatch.setenv("NPSAE_DATA", str(mnist_root))
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks[0], str(README), "exec"), {"__name__": "readme"})
    out = capsys.readouterr().out
    assert "PASSED" in out  # the gradient check it prints
    assert (tmp_path / "model.npz").exists() and (tmp_path / "filters.png").exists()
