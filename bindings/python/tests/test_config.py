import pickle

import pytest

import bpdl
from conftest import REPO


def test_presets_differ_where_documented_and_set_chains():
    paper, default = bpdl.Config.paper(), bpdl.Config.default()
    assert paper != default
    assert paper["model.input_corruption"] != default["model.input_corruption"]
    c = bpdl.Config.paper().set("train.epochs", 3).set("learning.lr", 0.005)
    assert (c["train.epochs"], c["learning.lr"]) == (3, 0.005)
    assert c["model.layers[0].size"] == paper["model.layers[0].size"]


def test_the_paper_preset_is_the_reproduction_experiments_file():
    path = REPO / "experiments" / "mnist-reproduction" / "config.toml"
    assert bpdl.Config.from_toml(path, preset="paper") == bpdl.Config.paper()


def test_from_toml_keyword_overrides_and_round_trips():
    path = REPO / "experiments" / "mnist-reproduction" / "config.toml"
    c = bpdl.Config.from_toml(path, train__epochs=4)
    assert c["train.epochs"] == 4
    assert bpdl.Config.from_toml_str(c.to_toml()) == c
    assert pickle.loads(pickle.dumps(c)) == c
    assert c.copy() == c and c.copy() is not c


def test_an_unknown_key_is_a_config_error_naming_it_and_leaves_the_config_unchanged():
    c = bpdl.Config.paper()
    with pytest.raises(bpdl.ConfigError) as e:
        c.set("train.epoch", 3)
    assert "train.epoch" in str(e.value)
    assert isinstance(e.value, ValueError)
    assert c == bpdl.Config.paper()


def test_a_bad_value_is_a_config_error_with_its_key():
    with pytest.raises(bpdl.ConfigError) as e:
        bpdl.Config.default().set("train.batch_size", 0)
    assert e.value.key is not None and "batch_size" in e.value.key
    with pytest.raises(bpdl.ConfigError):
        bpdl.Config.default().set("train.epochs", "many")


def test_getitem_and_get():
    c = bpdl.Config.default()
    with pytest.raises(KeyError):
        c["no.such.key"]
    assert c.get("no.such.key", 7) == 7
    assert isinstance(c.to_dict()["model"]["layers"], list)
    assert "layers" in repr(c)


def test_unknown_preset_and_missing_file():
    with pytest.raises(FileNotFoundError):
        bpdl.Config.from_toml("/nonexistent/bpdl.toml")
    with pytest.raises(ValueError, match="preset"):
        bpdl.Config.from_toml(REPO / "experiments" / "mnist-reproduction" / "config.toml", preset="x")
