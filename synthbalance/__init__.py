"""synthbalance: does synthetic minority data actually help your classifier?

A leakage-free experiment (generators fitted inside each training fold), a statistical
verdict (improves / equivalent / hurts / inconclusive), readable reports and
provenance-tagged exports::

    import synthbalance as sb
    report = sb.evaluate(X, y, generator=sb.CVAESampler(), n_splits=5, n_repeats=2)
    report.verdicts

The folders of the repository install as ``synthbalance.generators`` (the samplers),
``synthbalance.classifiers``, ``synthbalance.pipelines`` (data, evaluation, reports, CLIs)
and ``synthbalance.conf`` (the Hydra configs of the ``synthbalance`` commands).
"""

from importlib.metadata import PackageNotFoundError, version

from synthbalance._lazy import lazy_exports

# Each public name and the module that defines it. They are imported on first use (PEP 562),
# so that the console scripts start without loading torch: a Ctrl-C while it loads ends in
# their one-line message too (synthbalance.pipelines.cli).
_EXPORTS = {
    "CGANSampler": "synthbalance.generators",
    "CNNClassifier": "synthbalance.classifiers",
    "CVAEOutliers": "synthbalance.generators",
    "CVAESampler": "synthbalance.generators",
    "Comparison": "synthbalance.pipelines.compare",
    "DDPMSampler": "synthbalance.generators",
    "DataError": "synthbalance.pipelines.dataset",
    "Dataset": "synthbalance.pipelines.dataset",
    "METHODS": "synthbalance.pipelines.methods",
    "MSGGANSampler": "synthbalance.generators",
    "MultiHeadClassifier": "synthbalance.classifiers",
    "Protocol": "synthbalance.pipelines.protocol",
    "RejectOptionClassifier": "synthbalance.classifiers",
    "QualityCheck": "synthbalance.pipelines.protocol",
    "Report": "synthbalance.pipelines.report",
    "SMOTEOutliers": "synthbalance.generators",
    "StyleGANSampler": "synthbalance.generators",
    "TabularPreprocessor": "synthbalance.generators",
    "ThresholdTuning": "synthbalance.pipelines.protocol",
    "VAESampler": "synthbalance.generators",
    "WGANGPSampler": "synthbalance.generators",
    "compare": "synthbalance.pipelines.api",
    "evaluate": "synthbalance.pipelines.api",
    "export": "synthbalance.pipelines.api",
}

try:
    __version__ = version("synthbalance")
except PackageNotFoundError:  # a source tree that is not installed
    __version__ = "0+unknown"


__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)


__all__ = [
    "CGANSampler",
    "CNNClassifier",
    "CVAEOutliers",
    "CVAESampler",
    "Comparison",
    "DDPMSampler",
    "DataError",
    "Dataset",
    "METHODS",
    "MSGGANSampler",
    "MultiHeadClassifier",
    "Protocol",
    "QualityCheck",
    "RejectOptionClassifier",
    "Report",
    "SMOTEOutliers",
    "StyleGANSampler",
    "TabularPreprocessor",
    "ThresholdTuning",
    "VAESampler",
    "WGANGPSampler",
    "__version__",
    "compare",
    "evaluate",
    "export",
]
