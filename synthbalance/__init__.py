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

from synthbalance.classifiers import CNNClassifier, RejectOptionClassifier
from synthbalance.generators import (
    CGANSampler,
    CVAEOutliers,
    CVAESampler,
    MSGGANSampler,
    SMOTEOutliers,
    TabularPreprocessor,
    VAESampler,
    WGANGPSampler,
)
from synthbalance.pipelines.api import compare, evaluate, export
from synthbalance.pipelines.compare import Comparison
from synthbalance.pipelines.dataset import DataError, Dataset
from synthbalance.pipelines.methods import METHODS
from synthbalance.pipelines.protocol import Protocol, QualityCheck, ThresholdTuning
from synthbalance.pipelines.report import Report

try:
    __version__ = version("synthbalance")
except PackageNotFoundError:  # a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "CGANSampler",
    "CNNClassifier",
    "CVAEOutliers",
    "CVAESampler",
    "Comparison",
    "DataError",
    "Dataset",
    "METHODS",
    "MSGGANSampler",
    "Protocol",
    "QualityCheck",
    "RejectOptionClassifier",
    "Report",
    "SMOTEOutliers",
    "TabularPreprocessor",
    "ThresholdTuning",
    "VAESampler",
    "WGANGPSampler",
    "__version__",
    "compare",
    "evaluate",
    "export",
]
