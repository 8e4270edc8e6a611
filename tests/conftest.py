import pytest
import torch
from hydra import compose, initialize_config_module
from sklearn.datasets import make_classification

import synthbalance as sb

# Shrinking overrides for the real configs: a small seed_case, 2 folds, tiny networks.
SMALL_DATA = [
    "dataset.n_majority=600",
    "dataset.n_minority=60",
    "dataset.n_features=6",
    "dataset.n_informative=3",
    "dataset.n_redundant=1",
]
SMALL_MULTICLASS = [
    "dataset.n_base=600",
    "dataset.n_minority=[60,50,40]",
    "dataset.n_features=6",
    "dataset.n_informative=4",
    "dataset.n_redundant=1",
]
SMALL_EVALUATION = ["evaluation.n_splits=2", "evaluation.n_repeats=1", "evaluation.progress=false"]
SMALL_TORCH = ["generator.steps=4", "generator.hidden_dims=[16]"]
TORCH_GENERATORS = {"vae", "cvae", "cgan", "wgan_gp", "msggan", "stylegan", "ddpm"}


def shrink(overrides):
    """The shrinking overrides that apply to a run with ``overrides``."""
    choices = dict(o.split("=", 1) for o in overrides if "=" in o and "." not in o.split("=")[0])
    small = list(SMALL_EVALUATION)
    if choices.get("dataset", "seed_case") == "seed_case":
        small += SMALL_DATA
    if choices.get("dataset") == "seed_multiclass":
        small += SMALL_MULTICLASS
    if choices.get("generator", "cvae") in TORCH_GENERATORS:
        small += SMALL_TORCH
    return small


@pytest.fixture
def make_config(tmp_path):
    """Compose ``conf/config.yaml`` shrunk, writing into ``tmp_path``, plus the test's overrides."""

    def make(*overrides):
        with initialize_config_module(config_module="synthbalance.conf", version_base="1.3"):
            return compose(
                config_name="config",
                overrides=[*shrink(overrides), f"output_dir={tmp_path}", *overrides],
            )

    return make


@pytest.fixture(scope="module")
def imbalanced_table():
    """400 rows of 6 features, 80 % of them class 0: what the generator unit tests fit."""
    X, y = make_classification(
        n_samples=400, n_features=6, n_informative=3, weights=[0.8], random_state=0
    )
    return X, y


@pytest.fixture
def one_torch_thread():
    """Tiny networks gain nothing from threads, and torch's default threads slow them down
    many times over when other processes share the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def fold_records(X, y, minority, generator, classifier, **arguments):
    """report.json's ``folds`` of ``synthbalance.evaluate`` with one generator: the records
    of every method on every fold, run in this process (``n_jobs=1``) so that a spying
    generator or classifier sees every call."""
    report = sb.evaluate(
        X, y, generator=generator, classifier=classifier, minority=minority,
        **{"n_jobs": 1, **arguments},
    )  # fmt: skip
    return report.data["folds"]
