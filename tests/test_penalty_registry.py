"""Each penalty is one class of npsae.penalties: every list of penalties and settings is read
from its registry, and each rule about a penalty is one method of its class."""

import dataclasses

import pytest

from npsae import config, penalties
from npsae.cli import build_parser
from npsae.cli import sweep as cli_sweep
from npsae.cli import train as cli_train
from npsae.config import ModelConfig
from npsae.history import dead_unit_cause
from npsae.model import SparseAutoencoder
from npsae.penalties import SETTINGS, SPARSITY, KLSparsity


def test_every_list_of_penalties_is_the_registrys():
    names = [name for name in SPARSITY if name]
    assert config.CHOICES["sparsity"] == (None, *names)
    assert cli_train.SPARSITY_CHOICES == (*names, "none")
    assert all(SPARSITY[n].summary in cli_train.SPARSITY_HELP for n in names)
    assert config.K_SPARSITY == tuple(n for n in names if SPARSITY[n].keeps_k)
    assert set(config.SELECTING_SPARSITY) == {n for n in names if SPARSITY[n].selects()}
    assert tuple(cli_sweep.VARIANTS) == tuple(penalties.SWEEP_VARIANTS)
    # Every variant a class declares trains its own penalty.
    for name, cls in SPARSITY.items():
        assert all(v.model["sparsity"] == name for v in cls.sweep.values())


def test_every_setting_is_a_keyword_a_checked_field_and_a_flag():
    fields = {f.name: f.default for f in dataclasses.fields(ModelConfig)}
    train = next(a.choices["train"] for a in build_parser()._actions if getattr(a, "choices", None))
    for name, setting in SETTINGS.items():
        assert fields[name] == setting.default, name
        assert "--" + name.replace("_", "-") in train._option_string_actions, name
        if setting.check is not None:
            with pytest.raises(config.ConfigError, match=f"^{name}="):
                ModelConfig(8, 3, **{name: -1.0})


def test_a_setting_applies_to_the_penalties_that_read_it():
    kl, l1 = ModelConfig(8, 3), ModelConfig(8, 3, hidden="relu", sparsity="l1")
    assert kl.applies("rho") and not l1.applies("rho")
    assert kl.applies("beta") and l1.applies("beta") and l1.applies("hidden")
    topk = ModelConfig(8, 3, hidden="relu", sparsity="topk", k=2)
    assert topk.applies("k") and not topk.applies("beta") and not kl.applies("k")


def test_the_kl_with_relu_rule_is_one_method(monkeypatch):
    relu_kl = SparseAutoencoder(8, 3, hidden="relu", sparsity="kl")
    first, last = {"loss": 1.0, "epoch": 1}, {"loss": 0.5, "epoch": 2}
    assert len(relu_kl.caveats) == 1
    assert "KL sparsity with ReLU" in dead_unit_cause(relu_kl.config, first, last, None)
    # Change the rule in its one place: every use follows.
    monkeypatch.setattr(KLSparsity, "caveat", classmethod(lambda cls, hidden: None))
    assert relu_kl.caveats == []
    assert "KL" not in dead_unit_cause(relu_kl.config, first, last, None)
    rule = classmethod(lambda cls, hidden: penalties.KL_WITH_RELU)
    monkeypatch.setattr(KLSparsity, "caveat", rule)
    sigmoid_kl = SparseAutoencoder(8, 3)
    assert sigmoid_kl.caveats == [penalties.KL_WITH_RELU.warning]


def test_a_penalty_without_a_saelens_architecture_is_refused_by_name(monkeypatch):
    from npsae.export import ExportError, saelens_state

    model = SparseAutoencoder(8, 3, hidden="relu", output="linear", sparsity="l1")
    assert saelens_state(model)[1]["architecture"] == "standard"
    monkeypatch.setattr(penalties.L1Sparsity, "saelens", None)
    with pytest.raises(ExportError, match="no architecture for sparsity 'l1'"):
        saelens_state(model)
