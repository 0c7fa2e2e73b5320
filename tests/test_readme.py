"""The README's Python tour runs as written (on real MNIST, in a scratch folder)."""

import re
import warnings
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_python_tour_runs(mnist_root, tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks, "README.md has no Python block"
    monkeypatch.setenv("NPSAE_DATA", str(mnist_root))
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exec(compile(blocks[0], str(README), "exec"), {"__name__": "readme"})
    # Its model is KL on ReLU units: said once, when fit starts (not when built or loaded).
    said = [w for w in caught if "KL sparsity assumes" in str(w.message)]
    assert len(said) == 1 and said[0].filename == str(README)
    out = capsys.readouterr().out
    assert "PASSED" in out  # the gradient check it prints
    assert (tmp_path / "model.npz").exists() and (tmp_path / "filters.png").exists()
