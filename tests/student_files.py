"""Student folders for the autograder's tests: the instructor's solutions (plain NumPy, no npsae,
as a student writes them) laid out under the stubs' file names, with some files replaced."""

from pathlib import Path

from npsae import exercises


def write_submission(folder: Path, files: dict[str, str] | None = None) -> Path:
    """Write the solution file of every exercise into ``folder``, then ``files`` (exercise name
    -> source) over them; returns ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = {e.name: exercises.solution_source(e.name) for e in exercises.list_exercises()}
    for name, source in {**sources, **(files or {})}.items():
        (folder / exercises.get(name).filename).write_text(source)
    return folder
