"""One pipeline for verdicts on wrong values: every explainer's candidates, with their evidence
and confidence, ranked by one function; two independent mistakes in one file named both, from
files a student could have written, graded apart as a class's files are."""

import json

import numpy as np
import pytest

from npsae import exercises
from npsae.cli import main
from npsae.exercises.explainers import CONFIDENCE, Candidate, rank
from npsae.exercises.grading import EXPLAINERS

# A student's backward_decay, whose every term is written out; the two mistakes of each test
# are made by editing two of its lines.
BACKWARD_DECAY = """import numpy as np


def backward_decay(X, W1, b1, W2, b2, hidden, beta, lam):
    m, n_in = X.shape
    Z1 = X @ W1 + b1
    H = np.maximum(Z1, 0) if hidden == "relu" else 1 / (1 + np.exp(-Z1))
    X_hat = 1 / (1 + np.exp(-(H @ W2 + b2)))
    dZ2 = 2 * (X_hat - X) / (m * n_in) * X_hat * (1 - X_hat)
    f_prime = (Z1 > 0).astype(X.dtype) if hidden == "relu" else H * (1 - H)
    dZ1 = (dZ2 @ W2.T + beta / m) * f_prime
    return {
        "W1": X.T @ dZ1 + lam * W1,
        "b1": dZ1.sum(axis=0),
        "W2": H.T @ dZ2 + lam * W2,
        "b2": dZ2.sum(axis=0),
    }
"""
MSE_FACTOR = ("dZ2 = 2 * (X_hat - X)", "dZ2 = (X_hat - X)")
NO_DECAY = ('"W1": X.T @ dZ1 + lam * W1', '"W1": X.T @ dZ1')
NO_DECAY_2 = ('"W2": H.T @ dZ2 + lam * W2', '"W2": H.T @ dZ2')
BIAS_DECAY = ('"b1": dZ1.sum(axis=0),', '"b1": dZ1.sum(axis=0) + lam * b1,')
BIAS_DECAY_2 = ('"b2": dZ2.sum(axis=0),', '"b2": dZ2.sum(axis=0) + lam * b2,')
RELU_AT_0 = ("(Z1 > 0)", "(Z1 >= 0)")


def _grade(tmp_path, *edits):
    source = BACKWARD_DECAY
    for old, new in edits:
        assert old in source
        source = source.replace(old, new)
    (tmp_path / "backward_decay.py").write_text(source)
    (result,) = exercises.check_dir(tmp_path, ["backward_decay"], seed=0, timeout=60)
    return result


def _message(name):
    """The catalogued message of the backward_decay mistake that starts with ``name``."""
    (found,) = [
        m.message
        for m in exercises.get("backward_decay").spec.mistakes
        if m.message.startswith(name)
    ]
    return found


def test_the_file_without_mistakes_passes(tmp_path):
    assert _grade(tmp_path).passed


def test_two_mistakes_seen_on_the_same_case_are_both_named(tmp_path):
    # Each mistake changes every case; neither alone gives the student's result, both do.
    result = _grade(tmp_path, MSE_FACTOR, NO_DECAY, NO_DECAY_2)
    assert result.explainer == "pair", result.message
    assert "two mistakes" in result.message
    assert _message("the factor 2 of the mse's gradient") in result.message
    assert _message("the weight-decay gradient is missing") in result.message
    best = result.explanations[0]
    assert best["explainer"] == "pair" and best["confidence"] == CONFIDENCE["pair"]
    assert "your error minus that of a catalogued mistake" in best["evidence"]
    assert result.compared.startswith(EXPLAINERS["pair"])


def test_two_mistakes_seen_on_different_cases_are_both_named(tmp_path):
    # The biases' decay shows on every case; relu'(0) = 1 only on the ReLU cases, whose units
    # sit at Z1 = 0: the first failing case (sigmoid units) shows the first mistake alone.
    result = _grade(tmp_path, BIAS_DECAY, BIAS_DECAY_2, RELU_AT_0)
    assert result.explainer == "pair", result.message
    assert _message("the biases were decayed too") in result.message
    assert _message("relu'(0) taken as 1") in result.message
    explainers = [e["explainer"] for e in result.explanations]
    assert explainers[:2] == ["pair", "catalogue"], result.explanations


def test_one_mistake_gets_one_explanation(tmp_path):
    result = _grade(tmp_path, NO_DECAY, NO_DECAY_2)
    assert result.explainer == "catalogue"
    assert result.message == _message("the weight-decay gradient is missing")
    assert [e["explainer"] for e in result.explanations] == ["catalogue"]


def test_a_verdict_of_the_rules_is_its_own_only_candidate(tmp_path):
    # Right values in an argument left changed (b1 is not read after Z1): the contract's
    # rules say so, nothing to rank.
    result = _grade(tmp_path, ("    return {", "    b1[0] = 5.0\n    return {"))
    assert result.explainer == "rules" and "left its argument b1 changed" in result.message
    assert result.explanations == (
        {
            "explainer": "rules",
            "message": result.message,
            "evidence": EXPLAINERS["rules"],
            "confidence": 1.0,
        },
    )


def test_an_argument_left_changed_and_wrong_values_are_both_named(tmp_path):
    # X changed before the gradients that read it: two faults, each its own group's.
    result = _grade(tmp_path, ("    return {", "    X[0, 0] = 5.0\n    return {"))
    assert result.message.startswith("left its argument X changed")
    assert "; and its values are wrong: " in result.message
    assert "W1: only row 0 is wrong" in result.message
    assert [e["explainer"] for e in result.explanations][0] == "rules"
    assert len(result.explanations) > 1


def test_rank_orders_by_confidence_and_keeps_the_explainers_order_among_equals():
    a = Candidate("diagnosis", "a shape", confidence=CONFIDENCE["diagnosis"])
    b = Candidate("mutant", "a mutant", confidence=CONFIDENCE["mutant"])
    c = Candidate("catalogue", "a mistake", confidence=CONFIDENCE["catalogue"])
    d = Candidate("chain", "a mistake", confidence=CONFIDENCE["chain"])
    vague = Candidate("diagnosis", "wrong values", confidence=CONFIDENCE["vague"], vague="r")
    assert rank([vague, a, b, c, d]) == (c, b, a, vague)
    assert set(CONFIDENCE) - {"vague"} <= set(EXPLAINERS)


@pytest.mark.parametrize("kind", ["text", "json"])
def test_check_explain_and_the_json_report_show_the_evidence(tmp_path, capsys, kind):
    source = BACKWARD_DECAY
    for old, new in (MSE_FACTOR, NO_DECAY, NO_DECAY_2):
        source = source.replace(old, new)
    (tmp_path / "backward_decay.py").write_text(source)
    args = ["exercises", "check", str(tmp_path), "backward_decay", "--seed", "0"]
    if kind == "text":
        main([*args, "--explain"])
        out = capsys.readouterr().out
        assert f"verdict by pair: compared {EXPLAINERS['pair']}" in out
        assert "evidence: pair (confidence 0.85): your error minus that of" in out
        assert "also considered: diagnosis" in out
    else:
        main([*args, "--format", "json"])
        (report,) = json.loads(capsys.readouterr().out)["exercises"]
        assert report["explainer"]["name"] == "pair"
        first = report["explanations"][0]
        assert set(first) == {"explainer", "message", "evidence", "confidence"}
        assert first["message"] == report["message"]


def _debug_backward_fixed_with_a_factor_2(X, W1, b1, W2, b2, rho, beta):
    """The fix of debug_backward, with dX^ = 2 (X^ - X) / m: the sse's derivative without its
    1/2. One mistake, in dZ2, which the KL term's gradient does not share."""
    m = X.shape[0]
    H = 1 / (1 + np.exp(-(X @ W1 + b1)))
    dZ2 = 2 * (H @ W2 + b2 - X) / m
    r = H.mean(axis=0)
    dH = dZ2 @ W2.T + beta / m * (-rho / r + (1 - rho) / (1 - r))
    dZ1 = dH * H * (1 - H)
    return {"W1": X.T @ dZ1, "b1": dZ1.sum(0), "W2": H.T @ dZ2, "b2": dZ2.sum(0)}


def test_a_factor_on_part_of_the_result_is_not_split_into_a_factor_on_all_and_a_term_left_out():
    # 2 x (the whole result) minus the KL term's gradient is this result too, but no such
    # two mistakes were made: a factor on the whole result never adds to another mistake.
    result = exercises.check("debug_backward", _debug_backward_fixed_with_a_factor_2, seed=1)
    assert result.explainer != "pair", result.message
    assert "W2: your result is 2x the expected value everywhere" in result.message
