"""Run tutorial scripts in quick mode on several seeds and tabulate which pass.

A tutorial's closing assertions state the claims its text makes; they must hold on any seed,
not only on the one the text was written on. This runs each chosen script once per seed, as
``NPSAE_TUTORIAL_SEED=s python NN_name.py FOLDER`` in a subprocess of its own (figures to a
temporary folder, quick mode, one BLAS thread), and prints a table of pass/FAIL and seconds,
with the end of the output of every failed run.

    python tools/check_tutorial_seeds.py                      # every tutorial, seeds 1 2 3
    python tools/check_tutorial_seeds.py 03 07 --seeds 0 4    # tutorials 03 and 07, seeds 0, 4

Exit status 1 if any run failed, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TUTORIALS = Path(__file__).resolve().parent.parent / "npsae" / "tutorials"
# The lines of a failed run's output shown below the table.
TAIL = 15


def scripts(folder: Path = TUTORIALS) -> list[Path]:
    """The tutorial scripts, in order: NN_name.py."""
    return sorted(folder.glob("[0-9][0-9]_*.py"))


def choose(names: list[str], available: list[Path]) -> list[Path]:
    """The scripts named (by number, stem or file name; all of them if none is named)."""
    if not names:
        return available
    chosen = []
    for name in names:
        matches = [s for s in available if name in (s.name, s.stem, s.stem[:2])]
        if not matches:
            known = ", ".join(s.stem for s in available)
            raise ValueError(f"no tutorial {name!r} (known: {known})")
        chosen += [s for s in matches if s not in chosen]
    return chosen


def run(script: Path, seed: int, timeout: float) -> tuple[bool, float, str]:
    """Run ``script`` in quick mode with NPSAE_TUTORIAL_SEED=seed: (passed, seconds, output)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NPSAE_TUTORIAL")}
    env.update(NPSAE_TUTORIAL_SEED=str(seed), MPLBACKEND="Agg")
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    with tempfile.TemporaryDirectory(prefix="npsae-seeds-") as figures:
        start = time.perf_counter()
        try:
            proc = subprocess.run(
                [sys.executable, script.name, figures],
                cwd=script.parent,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as timed_out:
            output = (timed_out.stdout or b"").decode(errors="replace")
            return False, time.perf_counter() - start, f"{output}\ntimed out after {timeout:g} s"
        seconds = time.perf_counter() - start
    return proc.returncode == 0, seconds, proc.stdout + proc.stderr


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tutorials", nargs="*", help="numbers or names (default: all)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], metavar="S")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per run (600)")
    parser.add_argument("--folder", type=Path, default=TUTORIALS, help="where the scripts are")
    args = parser.parse_args(argv)
    try:
        chosen = choose(args.tutorials, scripts(args.folder))
    except ValueError as error:
        parser.error(str(error))
    width = max(len(s.stem) for s in chosen)
    print(f"{'tutorial':<{width}}" + "".join(f"  seed {s:<10}" for s in args.seeds), flush=True)
    failures = []
    for script in chosen:
        cells = []
        for seed in args.seeds:
            passed, seconds, output = run(script, seed, args.timeout)
            cells.append(f"{'pass' if passed else 'FAIL'} {seconds:5.1f} s")
            if not passed:
                failures.append((script.stem, seed, output))
        print(f"{script.stem:<{width}}" + "".join(f"  {c:<15}" for c in cells), flush=True)
    for stem, seed, output in failures:
        tail = "\n".join(output.rstrip().splitlines()[-TAIL:])
        print(f"\n---- {stem}, seed {seed} ----\n{tail}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
