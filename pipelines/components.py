"""Build generators and classifiers from their config groups via ``_target_``."""

from hydra.utils import instantiate
from omegaconf import OmegaConf
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def build(cfg):
    """Instantiate a ``generator`` or ``classifier`` config node.

    The node is ``_target_`` and its arguments plus two keys of ours: ``name`` (how reports
    call it) and, for classifiers, ``scale`` (put a StandardScaler in front, fitted on
    whatever training data the estimator is given).

    Returns
    -------
    estimator, description : object, dict
        ``description`` is the ``{"name", "class", "params"}`` block of report.json.
    """
    node = OmegaConf.to_container(cfg, resolve=True)
    name = node.pop("name")
    scale = node.pop("scale", False)
    estimator = instantiate(node)
    if scale:
        estimator = make_pipeline(StandardScaler(), estimator)
    params = {key: value for key, value in node.items() if not key.startswith("_")}
    if scale:
        params["scale"] = True
    return estimator, {"name": name, "class": node["_target_"], "params": params}
