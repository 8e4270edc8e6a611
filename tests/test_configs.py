"""Every config file in synthbalance.conf composes, resolves and names targets that exist."""

import importlib.util
from importlib.resources import files

import pytest
from hydra import compose, initialize_config_module
from hydra.utils import get_object
from omegaconf import OmegaConf

CONF = files("synthbalance.conf")
GROUPS = ("dataset", "generator", "classifier", "evaluation", "experiment", "hparams_search")
# Values a config leaves to the user (???) that composing alone does not need.
REQUIRED = {"dataset=file": ["dataset.path=x.csv", "dataset.target=y"],
            "dataset=heads": ["dataset.files=[a.csv,b.csv]"],
            "dataset=image_folder": ["dataset.root=images"]}  # fmt: skip
# Launcher configs whose plugin is an optional extra.
PLUGINS = {"ray_cluster": "hydra_plugins.hydra_ray_launcher"}


def choices():
    found = [
        f"{group}={path.name.removesuffix('.yaml')}"
        for group in GROUPS
        for path in sorted(CONF.joinpath(group).iterdir())
        if path.name.endswith(".yaml")
    ]
    found += [
        f"hydra/launcher={path.name.removesuffix('.yaml')}"
        for path in sorted(CONF.joinpath("hydra", "launcher").iterdir())
    ]
    return found


def targets(node):
    """Every ``_target_`` in a config (as a plain container)."""
    if isinstance(node, dict):
        if "_target_" in node:
            yield node["_target_"]
        for value in node.values():
            yield from targets(value)
    elif isinstance(node, list):
        for value in node:
            yield from targets(value)


def test_every_config_file_is_tested():
    assert len(choices()) >= 30
    assert {"dataset=seed_case", "generator=cvae", "experiment=keel_benchmark",
            "hparams_search=cvae_f1", "hydra/launcher=slurm"} <= set(choices())  # fmt: skip


@pytest.mark.parametrize("choice", choices())
def test_config_composes_and_its_targets_exist(choice):
    launcher = choice.removeprefix("hydra/launcher=")
    if launcher in PLUGINS and importlib.util.find_spec(PLUGINS[launcher]) is None:
        pytest.skip(f"the {launcher} launcher is an optional extra")
    with initialize_config_module(config_module="synthbalance.conf", version_base="1.3"):
        cfg = compose(
            config_name="config", overrides=[choice, *REQUIRED.get(choice, [])],
            return_hydra_config=True,
        )  # fmt: skip
    resolved = OmegaConf.to_container(cfg, resolve=False)
    for key in ("dataset", "generator", "classifier", "evaluation"):
        node = OmegaConf.to_container(cfg[key], resolve=True, throw_on_missing=True)
        assert node, key
    for target in targets(resolved):
        assert get_object(target) is not None, target
    generator = OmegaConf.to_container(cfg.generator, resolve=True)
    assert "name" in generator and "_target_" in generator
    if choice.startswith("hydra/launcher"):
        assert cfg.hydra.launcher._target_


def test_export_config_composes():
    with initialize_config_module(config_module="synthbalance.conf", version_base="1.3"):
        cfg = compose(config_name="export", overrides=["export.path=out.csv"])
    assert get_object(cfg.dataset._target_) and get_object(cfg.generator._target_)
