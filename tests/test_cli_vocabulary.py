"""One vocabulary on the command line: an option means the same everywhere and is spelled as its
Python keyword; the old spellings still work, for one release, with a warning."""

import argparse

import pytest

from npsae.cli import build_parser, common, main


def sub_parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(command path, parser) for every sub-command, nested ones (``exercises check``) too."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*path, name), sub
                yield from sub_parsers(sub, (*path, name))


def options(parser: argparse.ArgumentParser):
    """(option string, action) of a parser's own options, old spellings and --help left out."""
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, common._Renamed)):
            continue
        for option in action.option_strings:
            yield option, action


PARSERS = list(sub_parsers(build_parser()))


def test_every_sub_command_is_walked():
    names = {" ".join(path) for path, _ in PARSERS}
    assert {"train", "sweep", "report", "export", "data", "gradcheck", "tutorials"} <= names
    assert {"exercises start", "exercises check", "exercises grade"} <= names


def test_an_option_means_the_same_everywhere_and_is_spelled_as_its_keyword():
    meaning: dict[str, set] = {}  # option string -> the dests it stands for
    spelling: dict[str, set] = {}  # dest -> the option strings that set it
    for path, parser in PARSERS:
        for option, action in options(parser):
            meaning.setdefault(option, set()).add(action.dest)
            spelling.setdefault(action.dest, set()).add(option)
            # --batch-size sets batch_size: the flag is the Python keyword.
            assert option == common.flag(action.dest), (" ".join(path), option, action.dest)
    assert {o: d for o, d in meaning.items() if len(d) > 1} == {}
    assert {d: o for d, o in spelling.items() if len(o) > 1} == {}
    # The clashes this vocabulary resolved.
    assert meaning["--hidden"] == {"hidden"} and meaning["--n-hidden"] == {"n_hidden"}
    assert meaning["--data-root"] == {"data_root"} and "--root" not in meaning
    assert meaning["--out"] == {"out"} and meaning["--output"] == {"output"}
    assert meaning["--batch-size"] == {"batch_size"} and "--activation" not in meaning


def test_each_old_spelling_names_a_current_option_of_its_command():
    olds = {}
    for path, parser in PARSERS:
        current = {option for option, _ in options(parser)}
        for old, new in common.renamed_options(parser).items():
            assert new in current and old != new, (path, old, new)
            olds[" ".join(path), old] = new
    # train's --hidden N is read by --hidden itself (a number is no activation).
    assert olds == {
        ("train", "--activation"): "--hidden",
        ("sweep", "--hidden"): "--n-hidden",
        ("data", "--root"): "--data-root",
        ("gradcheck", "--samples"): "--batch-size",
        ("exercises check", "--output"): "--out",
    }


CASES = [
    # (sub-command, its arguments with the old spelling, with the new, dest, value).
    ("train", ["--activation", "sigmoid"], ["--hidden", "sigmoid"], "hidden", "sigmoid"),
    ("train", ["--hidden", "32"], ["--n-hidden", "32"], "n_hidden", 32),
    ("sweep", ["out", "--hidden", "16"], ["out", "--n-hidden", "16"], "n_hidden", 16),
    ("data", ["--root", "d"], ["--data-root", "d"], "data_root", "d"),
    ("gradcheck", ["--samples", "4"], ["--batch-size", "4"], "batch_size", 4),
    ("exercises check", ["s", "--output", "r.json"], ["s", "--out", "r.json"], "out", "r.json"),
]


@pytest.mark.parametrize(("command", "old", "new", "dest", "value"), CASES)
def test_the_old_spelling_works_and_warns_the_new_one_works_silently(
    command, old, new, dest, value
):
    words = command.split()
    with pytest.warns(common.RenamedOption, match=f"^{old[-2]} .*is now {new[-2]}") as caught:
        by_old = build_parser().parse_args([*words, *old])
    assert len(caught) == 1 and caught[0].message.command == command
    by_new = build_parser().parse_args([*words, *new])
    assert str(getattr(by_old, dest)) == str(getattr(by_new, dest)) == str(value)
    assert getattr(by_old, common.SPELLINGS) == {dest: old[-2]}
    assert not hasattr(by_new, common.SPELLINGS)


def test_the_new_spelling_gives_no_warning(recwarn):
    for command, _, new, _, _ in CASES:
        build_parser().parse_args([*command.split(), *new])
    assert not [w for w in recwarn if issubclass(w.category, common.RenamedOption)]


def test_the_command_line_prints_the_warning_as_one_line(tmp_path, capsys):
    assert main(["data", "--dataset", "bars", "--root", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert captured.err == (
        "npsae data: warning: --root is now --data-root; the old spelling works in this release "
        "only\n"
    )
    assert "bars: generated on the fly" in captured.out
    # Even when the command line is wrong after it, the warning comes first.
    with pytest.raises(SystemExit):
        main(["gradcheck", "--samples", "3", "--nonsense"])
    err = capsys.readouterr().err
    assert err.startswith("npsae gradcheck: warning: --samples is now --batch-size;")


def test_a_message_names_the_spelling_the_user_typed(capsys):
    assert main(["train", "--hidden", "0"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("npsae train: warning: --hidden N (units) is now --n-hidden N;")
    assert err[1] == "npsae train: error: --hidden 0: must be a positive integer"
    assert main(["train", "--n-hidden", "0"]) == 2
    assert (
        capsys.readouterr().err == "npsae train: error: --n-hidden 0: must be a positive integer\n"
    )
    assert main(["gradcheck", "--samples", "0"]) == 2
    assert (
        "npsae gradcheck: error: --samples 0: must be a positive integer" in capsys.readouterr().err
    )
    assert main(["gradcheck", "--batch-size", "0"]) == 2
    assert "error: --batch-size 0: must be a positive integer" in capsys.readouterr().err


def test_train_hidden_refuses_what_is_neither_an_activation_nor_a_number(capsys):
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["train", "--hidden", "tanh"])
    assert info.value.code == 2
    assert "argument --hidden: invalid choice: 'tanh' (choose from sigmoid, relu)" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--rho", "1.5"], "--rho 1.5: a target mean activation lies in (0, 1)"),
        (["train", "--theta-init", "0"], "--theta-init 0.0: must be a finite number > 0"),
        (["train", "--aux-alpha", "-1"], "--aux-alpha -1.0: must be a finite number >= 0"),
        (["train", "--dead-after", "0"], "--dead-after 0: must be a positive number of samples"),
        (["train", "--lr", "nan"], "--lr nan: the learning rate must be a number > 0"),
        (["gradcheck", "--weight-decay", "-1"], "--weight-decay -1.0: must be a finite number"),
        (
            ["gradcheck", "--bandwidth", "inf", "--sparsity", "jumprelu", "--hidden", "relu"],
            "--bandwidth inf: must be a finite number > 0",
        ),
        (["gradcheck", "--n-hidden", "0"], "--n-hidden 0: must be a positive integer"),
    ],  # fmt: skip
)
def test_the_configs_checks_reach_the_user_naming_the_flag(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err == f"npsae {argv[0]}: error: {message}\n" or (
        err.startswith(f"npsae {argv[0]}: error: {message}") and err.count("\n") == 1
    )


def test_the_help_lists_the_vocabulary(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for words in ("--n-hidden", "--hidden", "--data-root", "--batch-size", "--out", "--seed"):
        assert words in out


def test_one_exit_status_per_kind_of_file_error(tmp_path, capsys):
    # The path given is the wrong kind of thing: a usage error, 2; the work failed: 1.
    assert common.os_error_status(NotADirectoryError("a file")) == 2
    assert common.os_error_status(IsADirectoryError("a folder")) == 2
    assert common.os_error_status(FileExistsError("a file where a folder is made")) == 2
    assert common.os_error_status(PermissionError("read-only")) == 1
    assert common.os_error_status(OSError(28, "No space left on device")) == 1
    (tmp_path / "file").write_text("mine")
    assert main(["exercises", "start", str(tmp_path / "file")]) == 2
    assert main(["tutorials", str(tmp_path / "file")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert [line.split(": error: ")[0] for line in err] == [
        "npsae exercises start",
        "npsae tutorials",
    ]
    assert (tmp_path / "file").read_text() == "mine"
