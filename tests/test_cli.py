"""The command line as a whole: what every sub-command shares."""

import subprocess
import sys

# stdout is a pipe whose reader has gone, as in `npsae exercises list | head -0`.
CLOSED_PIPE = """
import os, sys
read, write = os.pipe()
os.close(read)
os.dup2(write, 1)
from npsae.cli import main
sys.exit(main(["exercises", "list"]))
"""


def test_a_closed_pipe_ends_the_command_quietly():
    proc = subprocess.run(
        [sys.executable, "-c", CLOSED_PIPE], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 141 and proc.stderr == "", proc.stderr
