"""Every mistake ends in one clear line (issue #21).

From the CLI: one line on stderr, a non-zero exit code, and nothing written. Most cases run
the job of the ``synthbalance`` command in this process (``cli.evaluation_job`` on a composed
config: the same code the console script runs once Hydra has composed it); what only the
installed command shows (Ctrl-C, Hydra creating the run directory, a sweep) runs it as a
subprocess. From the Python API: a ValueError or TypeError naming the problem, raised before
any fold runs.
"""

import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_module
from imblearn.over_sampling import SMOTE
from sklearn.linear_model import LogisticRegression

import synthbalance as sb
from synthbalance.pipelines import cli, evaluation, experiment, export, sweep
from synthbalance.pipelines.app import run
from synthbalance.pipelines.dataset import DataError, Dataset
from synthbalance.pipelines.datasets import from_file, seed_case

from .conftest import SMALL_DATA, SMALL_EVALUATION

BIN = Path(sys.executable).parent
SMALL = dict(n_splits=2, n_repeats=1, quality=False)
# What the commands write; Hydra's own .hydra/ folder and job log are Hydra's.
HYDRA_FILES = {".hydra", "synthbalance.log", "multirun.yaml"}


def one_line(text):
    """The one line ``text`` is (it must be exactly one)."""
    lines = text.splitlines()
    assert len(lines) == 1 and text.endswith("\n"), f"not one line: {text!r}"
    return lines[0]


def written(directory, before=()):
    """Files under ``directory`` that a command wrote (not ``before``, not Hydra's)."""
    return sorted(
        str(p.relative_to(directory))
        for p in Path(directory).rglob("*")
        if p.is_file() and str(p) not in before
        and not HYDRA_FILES & set(p.relative_to(directory).parts)
    )  # fmt: skip


def command(name, *args, cwd, **popen):
    """Start an installed console script with Ctrl-C delivered as it is in a terminal (a
    shell's background job ignores SIGINT, and its children inherit that)."""
    return subprocess.Popen(
        [str(BIN / name), *args], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), **popen,
    )  # fmt: skip


def finished(name, *args, cwd):
    process = command(name, *args, cwd=cwd)
    _, stderr = process.communicate(timeout=300)
    return process.returncode, stderr


@pytest.fixture
def job(make_config, monkeypatch, capsys):
    """Run the ``synthbalance`` job on the shrunk config and ``overrides``; its exit code and
    stderr. No fold may run: the run's checks come first."""
    monkeypatch.setattr(sweep, "limit_threads", lambda n: {"torch": n, "native": n})
    monkeypatch.setattr(experiment, "run_folds", _no_fold)

    def run_job(*overrides):
        cfg = make_config(*overrides)
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit:
            cli.evaluation_job(cfg)
        return exit.value.code, capsys.readouterr().err

    return run_job


def _no_fold(*args, **kwargs):
    raise AssertionError("a fold ran before the mistake was found")


def _csv(tmp_path, name="data.csv", **columns):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    frame = frame.assign(**columns, y=[0] * 48 + [1] * 12)
    frame.to_csv(tmp_path / name, index=False)
    return tmp_path / name


STRAY = ["3.5"] * 58 + ["abc", "?"]  # a numeric column with two stray cells
FILE = ["dataset=file", "dataset.target=y"]
JOB_MISTAKES = {
    "seed": (["seed=abc"], "seed must be an int in the range [0, 4294967295]; got 'abc'"),
    "n_splits": (["evaluation.n_splits=abc"], "evaluation.n_splits must be an int in the range"),
    "n_repeats": (["evaluation.n_repeats=1.5"], "evaluation.n_repeats must be an int"),
    "rope": (["evaluation.rope=-1"], "evaluation.rope must be a float in the range [0.0, inf)"),
    "generator_seeds": (["evaluation.generator_seeds=0"], "evaluation.generator_seeds must be"),
    "threshold": (["evaluation.threshold.validation_size=abc"],
                  "evaluation.threshold.validation_size must be a float"),
    "quality": (["evaluation.quality.nearest_k=abc"], "evaluation.quality.nearest_k must be"),
    "unknown evaluation key": (["+evaluation.n_fold=3"],
                               "evaluation has no setting ['n_fold']; its settings are n_splits, "),
    "unknown threshold key": (["+evaluation.threshold.metrc=mcc"], "evaluation.threshold has no "
                              "setting ['metrc']; its settings are metric, validation_size"),
    "dataset count": (["dataset.n_majority=abc"], "dataset.n_majority must be an int"),
    "dataset share": (["dataset.flip_y=2"], "dataset.flip_y must be a float in the range"),
    "generator": (["generator=smote", "generator.k_neighbors=abc"], "generator.k_neighbors must"),
    "torch generator": (["generator.lr=abc"], "generator.lr must be a float"),
    "classifier": (["classifier.C=abc"], "classifier.C must be a float"),
    "other classifier": (["classifier=rf", "classifier.n_estimators=abc"],
                         "classifier.n_estimators must be an int"),
    "threads": (["threads=abc"], "threads must be a positive integer or null; got 'abc'"),
    "resume": (["resume=abc"], "resume must be true or false; got 'abc'"),
    "overwrite": (["overwrite=2"], "overwrite must be true or false; got 2"),
    "k_neighbors": (["generator=smote", "generator.k_neighbors=30"],
                    "k_neighbors=30 needs more than 30 rows of each class it over-samples, but "
                    "a training part has "),
    "only the target": ([*FILE, "dataset.path={only_target}"], "no feature columns, only the "
                        "target 'y'"),
    "stray strings": ([*FILE, "dataset.path={stray}"], "column 'c' holds numbers and 2 cells "
                      "that are not ('abc', '?'); clean them, or declare the column categorical"),
    "a directory as the file": ([*FILE, "dataset.path={directory}"], "a directory; dataset.path "
                                "names a .csv or .parquet file"),
    # cuda:99: a device no machine has, so the case holds on one with a GPU too
    "generator device": (["generator.device=cuda:99"], "generator 'cvae': device='cuda:99', but "
                         "torch finds "),
    "classifier device": (["classifier=multihead_mlp", "classifier.device=cuda:99"],
                          "classifier 'multihead_mlp': device='cuda:99', but torch finds "),
    "cnn device": (["classifier=cnn", "classifier.device=cuda:99"], "classifier 'cnn': device="),
    "trunk weights": (["classifier=multihead_mlp", "classifier.trunk_weights={missing}"],
                      "classifier 'multihead_mlp': trunk_weights='{missing}': no such file"),
    "not a state dict": (["classifier=multihead_mlp", "classifier.trunk_weights={stray}"],
                         "is not a state dict saved by torch.save(trunk.state_dict(), path)"),
    "trainable layers": (["classifier=multihead_mlp", "classifier.trainable_layers=9"],
                         "trainable_layers=9, but the trunk has 2 layers with weights"),
    "no data file": (["dataset=file"], "dataset.path is required: give it on the command line "
                     "(dataset.path=...)"),
    "progress": (["evaluation.progress=maybe"],
                 "evaluation.progress must be true or false; got 'maybe'"),
    "ensemble": (["evaluation.ensemble.n_estimators=abc"],
                 "evaluation.ensemble.n_estimators must be an int in the range [1, inf)"),
    "ratio below the data's": (["generator=ros", "generator.sampling_strategy=0.01"],
                               "generator 'ros': sampling_strategy=0.01 would add no minority "
                               "rows to a training part (or the inner split of one), whose "
                               "minority-to-majority ratio is that high already, and over-"
                               "sampling only adds rows: give a ratio from 0.1"),
}  # fmt: skip


@pytest.mark.parametrize("case", JOB_MISTAKES)
def test_a_mistake_ends_the_job_in_one_line_before_any_fold(job, tmp_path, case):
    overrides, message = JOB_MISTAKES[case]
    files = {
        "only_target": _csv(tmp_path).parent / "only_target.csv",
        "stray": _csv(tmp_path, "stray.csv", c=STRAY),
        "directory": tmp_path / "images",
        "missing": tmp_path / "trunk.pt",
    }
    pd.read_csv(_csv(tmp_path))[["y"]].to_csv(files["only_target"], index=False)
    files["directory"].mkdir()
    before = {str(p) for p in tmp_path.rglob("*")}
    code, stderr = job(*(o.format(**files) for o in overrides))
    assert code == 1
    message = message.format(**files)
    assert one_line(stderr).startswith("synthbalance: error: ") and message in stderr, stderr
    assert written(tmp_path, before) == []


def test_declaring_a_stray_column_categorical_is_the_way_out(tmp_path):
    dataset = from_file(_csv(tmp_path, c=STRAY), target="y", categorical=["c"])
    assert dataset.categorical == ("c",)


def test_numbers_given_as_text_are_categorical_with_a_warning(caplog):
    X = np.array([[f"{v:.3f}", "a"] for v in np.linspace(0, 1, 60)])
    with caplog.at_level(logging.WARNING):
        dataset = Dataset.from_data(X, [0] * 48 + [1] * 12)
    assert dataset.categorical == ("x0", "x1")
    assert "column 'x0' holds only numbers, as text ('0.000', …): it is read as categorical " \
           "with 60 levels" in caplog.text  # fmt: skip
    assert "'x1'" not in caplog.text  # text that is not numbers: categorical, no word said
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        Dataset.from_data(X, [0] * 48 + [1] * 12, categorical=[0])
    assert "holds only numbers" not in caplog.text


def test_a_saved_pandas_index_is_dropped_with_a_warning(tmp_path, caplog):
    frame = pd.read_csv(_csv(tmp_path))
    frame.sample(frac=1, random_state=0).to_csv(tmp_path / "indexed.csv")  # index=True
    with caplog.at_level(logging.WARNING):
        dataset = from_file(tmp_path / "indexed.csv", target="y")
    assert list(dataset.X.columns) == ["a", "b"]
    assert "'Unnamed: 0' is a saved pandas index" in caplog.text
    # a column of that name that is no index (repeated values) stays
    frame.insert(0, "Unnamed: 0", [1, 2] * 30)
    assert "Unnamed: 0" in Dataset.from_data(frame.drop(columns="y"), frame["y"]).X.columns


# --- the same mistakes through the Python API -------------------------------------------


@pytest.fixture(scope="module")
def data():
    ds = seed_case(n_majority=300, n_minority=30, n_features=4, n_informative=2, n_redundant=1)
    return ds.X, ds.y


API_MISTAKES = {
    "n_splits": ({"n_splits": "abc"}, "'n_splits' parameter of Protocol must be an int"),
    "seed": ({"seed": -1}, "'seed' parameter of Protocol"),
    "rope": ({"rope": -1}, "'rope' parameter of Protocol must be a float in the range"),
    "generator_seeds": ({"generator_seeds": 0}, "'generator_seeds' parameter of Protocol"),
    "generator": ({"generator": SMOTE(k_neighbors="abc")}, "'k_neighbors' parameter of SMOTE"),
    "classifier": ({"classifier": LogisticRegression(C="abc")}, "'C' parameter of Logistic"),
    "k_neighbors": ({"generator": SMOTE(k_neighbors=20)}, "k_neighbors=20 needs more than 20"),
    "no features": ({"X": np.empty((330, 0))}, "no feature columns"),
    "stray strings": ({"X": "stray"}, "column 'x0' holds numbers and 2 cells"),
    "generator device": ({"generator": sb.CVAESampler(device="cuda:99")},
                         "generator 'CVAESampler': device='cuda:99', but torch finds"),
    "classifier device": ({"classifier": sb.MultiHeadClassifier(device="cuda:99")},
                          "classifier 'MultiHeadClassifier': device='cuda:99', but torch finds"),
    "a sampler class": ({"generator": SMOTE}, "generator must be an instance, got the class "
                        "SMOTE: write SMOTE()"),
    "a classifier class": ({"classifier": LogisticRegression}, "classifier must be an instance"),
    "repeated columns": ({"X": lambda X: pd.DataFrame(X, columns=["a", "a", "b", "b"])},
                         "X has repeated column names ['a', 'b']"),
    "column names of an array": ({"X": lambda X: X.to_numpy(), "categorical": ["x0"]},
                                 "categorical=['x0']: X is an array, without column names; "
                                 "give column indices (0 to 3)"),
    "image shape": ({"image_shape": (1, 2, 3)}, "image_shape=(1, 2, 3) does not fit rows of 4 "
                    "features"),
    "2-D image shape": ({"image_shape": (2, 2)}, "image_shape=(2, 2) does not fit"),
    "open-set setting": ({"open_set": {"scorez": ["msp"]}}, "open_set has no setting ['scorez']; "
                         "its settings are scores, outliers, coverage"),
    "quality setting": ({"quality": {"nearest": 3}}, "quality has no setting ['nearest']"),
}  # fmt: skip


@pytest.mark.parametrize("case", API_MISTAKES)
def test_the_api_raises_before_any_fold(data, case, monkeypatch):
    arguments, message = API_MISTAKES[case]
    X, y = data
    X = arguments.pop("X", X)
    if isinstance(X, str):
        X = pd.DataFrame({"x0": ["1.5"] * 328 + ["abc", "?"], "x1": np.arange(330.0)})
    elif callable(X):
        X = X(data[0])
    monkeypatch.setattr(experiment, "run_folds", _no_fold)
    with pytest.raises((ValueError, TypeError), match=re.escape(message)):
        sb.evaluate(X, y, **{"generator": SMOTE(), **SMALL, **arguments})


def test_the_largest_k_neighbors_the_message_offers_works(data):
    X, y = data
    with pytest.raises(ValueError, match=r"has (\d+) of class 1; lower k_neighbors to") as error:
        sb.evaluate(X, y, generator=SMOTE(k_neighbors=20), **SMALL)
    largest = int(re.search(r"lower k_neighbors to (\d+) or less", str(error.value))[1])
    with pytest.raises(ValueError, match=f"lower k_neighbors to {largest} or less"):
        sb.evaluate(X, y, generator=SMOTE(k_neighbors=largest + 1), **SMALL)
    report = sb.evaluate(X, y, generator=SMOTE(k_neighbors=largest), **SMALL)
    assert all(r["n_synthetic"] > 0 for r in report.data["folds"] if r["method"] == "augmented")


def test_export_names_the_target_never_its_temporary_file(data, tmp_path, monkeypatch):
    X, y = data

    def disk_full(frame, path, target):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setitem(export.WRITERS, ".csv", disk_full)
    target = tmp_path / "balanced.csv"
    with pytest.raises(OSError) as error:
        sb.export(X, y, generator=SMOTE(), path=target)
    assert error.value.filename == str(target) and ".tmp" not in str(error.value)
    (tmp_path / "a_file").write_text("")
    with pytest.raises(NotADirectoryError, match="a_file"):
        sb.export(X, y, generator=SMOTE(), path=tmp_path / "a_file" / "balanced.csv")
    with pytest.raises(ValueError, match="'seed' parameter of export_dataset"):
        sb.export(X, y, generator=SMOTE(), path=tmp_path / "out.parquet", seed="abc")
    with pytest.raises(ValueError, match="but the dataset has 30 of class 1; lower k_neighbors"):
        sb.export(X, y, generator=SMOTE(k_neighbors=30), path=tmp_path / "out.parquet")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_a_ctrl_c_in_the_folds_says_how_far_it_got(data, monkeypatch):
    calls = []
    evaluate_fold = evaluation.evaluate_fold

    def interrupted_at_the_third(*args):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return evaluate_fold(*args)

    monkeypatch.setattr(evaluation, "evaluate_fold", interrupted_at_the_third)
    X, y = data
    with pytest.raises(KeyboardInterrupt, match="^interrupted after fold 2 of 4$"):
        # one process: the patched evaluate_fold must run here (workers would not see it)
        sb.evaluate(X, y, generator=SMOTE(), n_splits=2, n_repeats=2, quality=False, n_jobs=1)


class _Failing(SMOTE):
    def fit_resample(self, X, y):
        raise ValueError("the generator broke")


class _Terminal:
    """A stderr that says it is a terminal, so that tqdm draws its bar."""

    def __init__(self):
        self.text = ""

    def write(self, text):
        self.text += text

    def flush(self):
        pass

    def isatty(self):
        return True


def test_an_error_in_the_folds_leaves_no_progress_bar_behind(data, monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with pytest.raises(ValueError, match="the generator broke"):
        sb.evaluate(*data, generator=_Failing(), progress=True, **SMALL)
    assert "folds:" in terminal.text  # the bar was drawn ...
    assert terminal.text.rsplit("\r", 1)[-1].strip() == ""  # ... and its line cleared


# --- the commands themselves ------------------------------------------------------------


def test_a_ctrl_c_in_the_job_is_one_line_and_exit_130(make_config, monkeypatch, capsys):
    monkeypatch.setattr(sweep, "limit_threads", lambda n: {"torch": n, "native": n})
    original = evaluation.evaluate_fold
    calls = []

    def interrupted_at_the_second(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(*args)

    monkeypatch.setattr(evaluation, "evaluate_fold", interrupted_at_the_second)
    # one process: the patched evaluate_fold must run here (workers would not see it)
    cfg = make_config("generator=smote", "evaluation.n_repeats=2", "evaluation.n_jobs=1")
    # the job lets a Ctrl-C through; the command's guard (outside Hydra) reports it
    with pytest.raises(SystemExit) as exit, cli.one_line_errors("synthbalance"):
        cli.evaluation_job(cfg)
    assert exit.value.code == cli.EXIT_INTERRUPTED
    err = capsys.readouterr().err
    assert one_line(err) == "synthbalance: interrupted after fold 1 of 4; no report written"
    assert not (Path(cfg.output_dir) / "report.json").exists()


def test_a_traceback_when_asked_for(monkeypatch):
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    with pytest.raises(ValueError, match="bad"), cli.one_line_errors("synthbalance"):
        raise ValueError("bad")
    with pytest.raises(KeyboardInterrupt), cli.one_line_errors("synthbalance"):
        raise KeyboardInterrupt


def _wait_for(condition, process, timeout=240):
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline
        time.sleep(0.02)


def _loaded(process, library):
    maps = Path(f"/proc/{process.pid}/maps")
    return library in maps.read_text() if maps.exists() else False


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux /proc")
def test_a_ctrl_c_while_torch_loads_is_one_line_and_exit_130(tmp_path):
    process = command("synthbalance", "generator=smote", *SMALL_DATA, "hydra.run.dir=run",
                      cwd=tmp_path)  # fmt: skip
    _wait_for(lambda: _loaded(process, "libtorch"), process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == cli.EXIT_INTERRUPTED
    line = one_line(stderr)
    assert line.startswith("synthbalance: interrupted") and line.endswith("; no report written")
    assert written(tmp_path) == []  # config.sha256 comes with the report, just before it


def _fork_server(process):
    """Whether ``process`` has started its fork server (a child running forkserver)."""
    for child in Path("/proc").glob("[0-9]*"):
        try:
            parent = (child / "stat").read_text().rsplit(")", 1)[1].split()[1]
            found = int(parent) == process.pid and b"forkserver" in (child / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if found:
            return True
    return False


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux /proc")
def test_a_ctrl_c_from_the_terminal_while_the_fork_server_imports_is_one_line(tmp_path):
    # a terminal's Ctrl-C goes to the whole process group, the fork server included, which
    # then imports torch and the folds' modules for its workers
    process = command("synthbalance", "generator=smote", *SMALL_DATA, "hydra.run.dir=run",
                      cwd=tmp_path, start_new_session=True)  # fmt: skip
    _wait_for(lambda: _fork_server(process), process)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == cli.EXIT_INTERRUPTED
    assert len(stderr.splitlines()) == 1, stderr
    assert one_line(stderr).startswith("synthbalance: interrupted")


@pytest.mark.slow
def test_a_ctrl_c_during_the_folds_writes_no_report(tmp_path):
    overrides = ["generator=vae", "generator.steps=20000", "evaluation.n_splits=5",
                 "evaluation.n_repeats=2", "hydra.run.dir=run"]  # fmt: skip
    process = command("synthbalance", *overrides, cwd=tmp_path)
    log = tmp_path / "run" / "synthbalance.log"
    _wait_for(lambda: log.exists() and "threads per job" in log.read_text(), process)
    time.sleep(5)  # the folds begin
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == cli.EXIT_INTERRUPTED
    line = one_line(stderr)
    assert line.startswith("synthbalance: interrupted after fold ") and " of 10; " in line
    assert written(tmp_path) == []


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
@pytest.mark.parametrize(
    "directory, says",
    [("a_file/run", "[Errno 20] Not a directory: 'a_file/run'"),
     ("a_file", "'a_file' is a file, not a directory ([Errno 17] File exists: 'a_file')"),
     ("/proc/synthbalance-run", "[Errno ")],
    ids=["below a file", "a file", "under /proc"],
)  # fmt: skip
def test_a_run_directory_that_cannot_be_made_is_one_line(tmp_path, directory, says):
    (tmp_path / "a_file").write_text("")
    code, stderr = finished("synthbalance", f"hydra.run.dir={directory}", cwd=tmp_path)
    assert code == 1
    line = one_line(stderr)
    assert line.startswith(f"synthbalance: error: {says}") and directory in line, line
    assert written(tmp_path) == ["a_file"]


def test_a_wrong_type_on_the_command_line_is_one_line(tmp_path):
    code, stderr = finished("synthbalance", "evaluation.n_splits=abc", "hydra.run.dir=run",
                            cwd=tmp_path)  # fmt: skip
    assert code == 1
    assert one_line(stderr) == (
        "synthbalance: error: evaluation.n_splits must be an int in the range [2, inf); got 'abc'"
    )
    assert written(tmp_path) == []


def test_a_sweep_names_the_job_that_failed(tmp_path):
    overrides = [*SMALL_DATA, *SMALL_EVALUATION, "generator=cvae", "generator.steps=20",
                 "hydra.sweep.dir=sweep"]  # fmt: skip
    # a generator that diverges in its first fold: every value a sweep gives is checked
    # before job 0, but only a fit can tell that a learning rate is too high
    code, stderr = finished("synthbalance", "-m", "generator.lr=1e3,1e-3", *overrides,
                            cwd=tmp_path)  # fmt: skip
    assert code == 1
    assert re.fullmatch(
        r"synthbalance: error: job 0 \(generator\.lr=1000\.0 .*\): .*CVAESampler: \d+ of its "
        r"\d+ synthetic rows hold NaN or infinite values.*", one_line(stderr),
    ), stderr  # fmt: skip
    assert written(tmp_path) == []  # the sweep stopped at the bad job


# --- another run's directory ------------------------------------------------------------


def test_another_configs_run_directory_is_refused_unless_overwrite(make_config, tmp_path, caplog):
    first = run(make_config("generator=smote", "evaluation.quality.enabled=false"))
    report = (tmp_path / "report.json").read_text()
    with pytest.raises(ValueError, match="holds the report.json of another config"):
        run(make_config("generator=smote", "evaluation.quality.enabled=false", "seed=1"))
    assert (tmp_path / "report.json").read_text() == report
    assert (tmp_path / sweep.HASH_FILE).read_text().strip() == first["config_sha256"]

    with caplog.at_level(logging.INFO):
        again = run(make_config("generator=smote", "evaluation.quality.enabled=false"))
    assert "holds a report of this config; it is replaced" in caplog.text
    assert again["config_sha256"] == first["config_sha256"]
    other = run(make_config("generator=smote", "evaluation.quality.enabled=false", "seed=1",
                            "overwrite=true"))  # fmt: skip
    assert other["config_sha256"] != first["config_sha256"]
    assert json.loads((tmp_path / "report.json").read_text())["protocol"]["seed"] == 1


def test_a_run_that_failed_in_its_folds_leaves_the_directory_to_its_report(make_config, tmp_path):
    smote = ["generator=smote", "evaluation.quality.enabled=false"]
    first = run(make_config(*smote))
    with pytest.MonkeyPatch.context() as patch, pytest.raises(AssertionError, match="a fold"):
        patch.setattr(experiment, "run_folds", _no_fold)
        run(make_config(*smote, "seed=1", "overwrite=true"))  # fails before replacing it
    assert json.loads((tmp_path / "report.json").read_text())["protocol"]["seed"] == 0
    # the report is the first config's: that config may run there again without overwrite
    assert run(make_config(*smote))["config_sha256"] == first["config_sha256"]
    with pytest.raises(ValueError, match="holds the report.json of another config"):
        run(make_config(*smote, "seed=1"))


def test_another_configs_run_directory_is_refused_before_hydra_writes_to_it(
    make_config, tmp_path, capsys
):
    run(make_config("generator=ros", "evaluation.quality.enabled=false"))
    overrides = [*SMALL_DATA, *SMALL_EVALUATION, "generator=smote", "evaluation.quality."
                 "enabled=false", f"hydra.run.dir={tmp_path}"]  # fmt: skip
    with initialize_config_module(config_module="synthbalance.conf", version_base="1.3"):
        config = compose("config", overrides=overrides, return_hydra_config=True)
    with pytest.raises(SystemExit) as exit:
        sweep.RunDirectoryCheck().on_run_start(config=config)  # Hydra calls it first
    assert exit.value.code == 1
    assert "holds the report.json of another config" in one_line(capsys.readouterr().err)
    sweep.RunDirectoryCheck().on_run_start(config=compose_with(config, "overwrite=true"))


def compose_with(config, override):
    with initialize_config_module(config_module="synthbalance.conf", version_base="1.3"):
        overrides = [*config.hydra.overrides.task, override]
        return compose("config", overrides=overrides, return_hydra_config=True)


@pytest.mark.parametrize(
    "source, destination, where",
    [("file", "data.csv", "is the dataset's own dataset.path"),
     ("file", "sub/../data.csv", "is the dataset's own dataset.path"),
     ("heads", "b.csv", "is the dataset's own dataset.files"),
     ("image_folder", "pictures/new_class", "is inside the dataset's own dataset.root")],
)  # fmt: skip
def test_an_export_never_overwrites_its_own_data(tmp_path, monkeypatch, source, destination,
                                                  where):  # fmt: skip
    monkeypatch.chdir(tmp_path)
    data = {"file": ["dataset.path=data.csv", "dataset.target=y"],
            "heads": ["dataset.files=[a.csv,b.csv]"],
            "image_folder": ["dataset.root=pictures"]}[source]  # fmt: skip
    for name in ("data.csv", "a.csv", "b.csv"):
        (tmp_path / name).write_text("x,y,label\n1,0,0\n2,1,1\n")
    (tmp_path / "pictures").mkdir()
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with initialize_config_module(config_module="synthbalance.conf", version_base="1.3"):
        cfg = compose("export", [f"dataset={source}", *data, f"export.path={destination}"])
    with pytest.raises(DataError, match=f"^{re.escape(destination)}: export.path {where} "):
        export.export(cfg)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


# --- synthbalance-compare ---------------------------------------------------------------


def test_compare_names_each_unusable_report_and_compares_the_rest(make_config, tmp_path,
                                                                   capsys):  # fmt: skip
    runs = tmp_path / "sweep"
    (runs / "good").mkdir(parents=True)
    run(make_config("generator=smote", "evaluation.quality.enabled=false",
                    f"output_dir={runs / 'good'}"))  # fmt: skip
    text = (runs / "good" / "report.json").read_text()
    future = text.replace('"synthbalance/report-v1"', '"synthbalance/report-v7"', 1)
    unusable = {"truncated": text[: len(text) // 2], "other": '{"rows": [1, 2]}', "new": future}
    for name, content in unusable.items():
        (runs / name).mkdir()
        (runs / name / "report.json").write_text(content)
    cli.compare_main([str(runs), "--out", str(tmp_path / "cmp")])
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 3, captured.err
    assert f"{runs / 'other' / 'report.json'}: not a synthbalance report" in captured.err
    assert (
        f"{runs / 'new' / 'report.json'}: a synthbalance report of schema "
        "'synthbalance/report-v7', which this version (" in captured.err
    )
    assert f"{runs / 'truncated' / 'report.json'}: not valid JSON" in captured.err
    assert "1 runs compared" in captured.out and (tmp_path / "cmp" / "comparison.csv").exists()

    (runs / "good" / "report.json").unlink()
    with pytest.raises(SystemExit) as exit:
        cli.compare_main([str(runs), "--out", str(tmp_path / "nothing")])
    assert exit.value.code == 1
    line = one_line(capsys.readouterr().err)
    assert line.startswith("synthbalance-compare: error: no usable report.json under ")
    assert "other" in line and "truncated" in line and not (tmp_path / "nothing").exists()


def test_compare_refuses_a_negative_rope(tmp_path, capsys):
    with pytest.raises(ValueError, match="'rope' parameter of Comparison"):
        sb.Comparison([("run", {})], rope=-1)
    with pytest.raises(SystemExit) as exit:
        cli.compare_main([str(tmp_path), "--rope", "-1"])
    assert exit.value.code == 1
    assert "'rope' parameter of Comparison" in one_line(capsys.readouterr().err)


# --- the commands start light -----------------------------------------------------------


def test_the_commands_import_nothing_heavy_before_their_guard():
    code = "import sys, synthbalance.pipelines.cli; print(sorted({'torch', 'hydra', 'sklearn'} & set(sys.modules)))"  # noqa: E501
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr
    assert set(sb.__all__) == {*sb._EXPORTS, "__version__"}
    assert all(getattr(sb, name) is not None for name in sb.__all__)
    assert os.environ.get(cli.USER_FULL_ERROR) is None  # the commands restore the environment


def test_a_sweep_naming_an_unknown_generator_is_one_line_before_any_job(tmp_path):
    # the sweep's generator check composes every choice first: Hydra's own message, one line
    code, stderr = finished("synthbalance", "-m", "generator=none,nope", "hydra.sweep.dir=sweep",
                            cwd=tmp_path)  # fmt: skip
    assert code == 1
    line = one_line(stderr)
    assert line.startswith("synthbalance: error: ") and "Could not find 'generator/nope'" in line
    assert not (tmp_path / "sweep").exists()


def test_a_sweep_refuses_a_job_directory_of_another_config_before_writing_into_it(tmp_path):
    overrides = [*SMALL_DATA, *SMALL_EVALUATION, "evaluation.quality.enabled=false",
                 "hydra.sweep.dir=sweep"]  # fmt: skip
    assert finished("synthbalance", "-m", "generator=none,ros", *overrides, cwd=tmp_path)[0] == 0
    records = {p: p.read_bytes() for p in (tmp_path / "sweep").rglob("*") if p.is_file()}
    code, stderr = finished("synthbalance", "-m", "generator=smote,ros", *overrides, cwd=tmp_path)
    assert code == 1
    assert one_line(stderr) == (
        "synthbalance: error: sweep/0 holds the report.json of another config; give the run "
        "another directory (hydra.sweep.dir), or overwrite=true to replace it"
    )
    # job 0's .hydra/ records and the sweep's multirun.yaml still describe the reports there
    assert {p: p.read_bytes() for p in (tmp_path / "sweep").rglob("*") if p.is_file()} == records
    # the same sweep's jobs are its own: resumed (complete, not run again), not refused
    resumed = finished("synthbalance", "-m", "generator=none,ros", *overrides, "resume=true",
                       cwd=tmp_path)  # fmt: skip
    assert resumed[0] == 0
    for report in (tmp_path / "sweep").glob("*/report.json"):
        assert report.read_bytes() == records[report]
    # a glob sweep's choices need the config loader to be listed (Hydra's sweeper has it)
    globbed = finished("synthbalance", "-m", "generator=glob(none)", *overrides, "resume=true",
                       cwd=tmp_path)  # fmt: skip
    assert globbed[0] == 0, globbed[1]


OPEN_SET_MISTAKES = {
    "few unknown rows": (["dataset.n_minority=[30,20,1]", "+dataset.unknown=[3]"],
                         "dataset 'seed_multiclass': 1 row(s) of unknown class 3, fewer than "
                         "n_splits=2"),
    "no outliers": (["+dataset.unknown=[3]", "evaluation.open_set.outliers=[]"],
                    "open_set.outliers is empty, but open_set.scores ['other_class', 'detector'] "
                    "are trained on outlier rows"),
    "same file name": (["+dataset.unknown=[3]", "evaluation.open_set.outliers=[d1/o.csv,d2/o.csv]"],
                       "would all name methods '<score>+o.csv'"),
    "outliers of another width": (["+dataset.unknown=[3]", "evaluation.open_set.outliers=[{wide}]"],
                                  "{wide}: an array of shape (20, 3); outliers must be rows of the "
                                  "data's 6 features"),
    "outliers with NaN": (["+dataset.unknown=[3]", "evaluation.open_set.outliers=[{nan}]"],
                          "{nan}: 1 outlier row(s) hold NaN or infinite values"),
    "unknown open_set key": (["+evaluation.open_set.foo=1"],
                             "open_set has no setting ['foo']; its settings are scores, outliers"),
}  # fmt: skip


@pytest.mark.parametrize("case", OPEN_SET_MISTAKES)
def test_an_open_set_mistake_ends_the_job_in_one_line_before_any_fold(job, tmp_path, case):
    overrides, message = OPEN_SET_MISTAKES[case]
    files = {"wide": tmp_path / "wide.npy", "nan": tmp_path / "nan.csv"}
    np.save(files["wide"], np.zeros((20, 3)))
    pd.DataFrame({f"x{i}": [0.0, np.nan if i == 2 else 1.0] for i in range(6)}).to_csv(
        files["nan"], index=False
    )
    before = {str(p) for p in tmp_path.rglob("*")}
    overrides = ["dataset=seed_multiclass", "generator=smote", *overrides]
    code, stderr = job(*(o.format(**files) for o in overrides))
    assert code == 1
    message = message.format(**files)
    assert one_line(stderr).startswith("synthbalance: error: ") and message in stderr, stderr
    assert written(tmp_path, before) == []
