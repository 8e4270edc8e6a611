"""``evaluation.n_repeats=auto``: repeats of the stratified k-fold split, run in rounds until
the headline verdicts are decided.

Each round is one more repeat of the split, a batch of folds run by the same per-fold code
as a fixed run (``evaluation.run_folds``). After each round the headline comparisons
(``report.build.headline_comparisons``: augmentation against the baseline and the best
augmented method against the best without augmentation, on F1 and ROC AUC, for every
generator) are read with that look's repeated confidence intervals
(``synthbalance.pipelines.sequential``); the run stops once none is inconclusive, or after
``max_repeats`` repeats. Rounds extend the run deterministically, so an adaptive run that
stops after r repeats has exactly the folds of a fixed run of r repeats with the same seed.
"""

from synthbalance.pipelines.evaluation import GeneratorRun, run_folds
from synthbalance.pipelines.report.build import headline_comparisons

DECIDED = "every headline comparison decided"
EXHAUSTED = "max_repeats reached"


def run_adaptive(task, generators, *, progress=False, n_jobs=None):
    """Run ``task`` in rounds until its headline verdicts are decided.

    ``progress`` and ``n_jobs`` as ``run_folds`` takes them. Returns ``(runs, protocol)``:
    ``{name: GeneratorRun}`` as ``run_folds`` returns them, and report.json's protocol block
    for the repeats that ran, whose ``adaptive`` block says what every look found
    (``looks``) and why the run stopped (``stopped``).
    """
    protocol = task.protocol
    runs = {name: GeneratorRun([]) for name in generators}
    history, done = [], 0
    for repeats in protocol.looks:
        batch = run_folds(
            task, generators, repeats=range(done, repeats), progress=progress, n_jobs=n_jobs
        )
        for name, run in batch.items():
            runs[name].records += run.records
            runs[name].samples = runs[name].samples or run.samples
        done = repeats
        block = protocol.describe(n_repeats=repeats)
        undecided = sorted(
            {
                label if len(runs) == 1 else f"{name}: {label}"
                for name, run in runs.items()
                for label in _undecided(run.records, block)
            }
        )
        history.append(
            {
                "n_repeats": repeats,
                "n_folds": protocol.n_splits * repeats,
                "critical": block["adaptive"]["critical"],
                "undecided": undecided,
            }
        )
        if not undecided:
            break
    block["adaptive"].update(looks=history, stopped=EXHAUSTED if undecided else DECIDED)
    return runs, block


def _undecided(records, block):
    """The headline comparisons of ``records`` still inconclusive, as ``method vs versus
    (metric)``."""
    return [
        f"{c['method']} vs {c['versus']} ({c['metric']})"
        for c in headline_comparisons(records, block)
        if c["verdict"] == "inconclusive"
    ]
