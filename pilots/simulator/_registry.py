"""Sector models by name: the in-tree ones plus any registered under the ``factorypilot.simulator_models``
entry-point group (a third party ships a model as its own distribution)."""

from __future__ import annotations

import logging
from importlib.metadata import entry_points

from factorypilot.errors import ConfigError

from ._model import PlantModel

__all__ = ["ENTRY_POINT_GROUP", "available_models", "resolve_model"]

ENTRY_POINT_GROUP = "factorypilot.simulator_models"
_log = logging.getLogger(__name__)


def available_models() -> dict[str, type[PlantModel]]:
    """Model name → class. In-tree models are always present, even before the entry points are installed."""
    from ._mobility import MobilityModel

    models: dict[str, type[PlantModel]] = {MobilityModel.name: MobilityModel}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in models:
            continue
        try:
            obj = ep.load()
        except ImportError as exc:  # a broken plugin must not hide the others
            _log.warning("simulator model %r cannot be imported: %s", ep.name, exc)
            continue
        if isinstance(obj, type) and issubclass(obj, PlantModel):
            models[ep.name] = obj
        else:
            _log.warning("entry point %r in %s is not a PlantModel subclass", ep.name, ENTRY_POINT_GROUP)
    return dict(sorted(models.items()))


def resolve_model(model: str | PlantModel | type[PlantModel]) -> type[PlantModel]:
    if isinstance(model, PlantModel):
        cls: type[PlantModel] = type(model)
    elif isinstance(model, type) and issubclass(model, PlantModel):
        cls = model
    elif isinstance(model, str):
        models = available_models()
        if model not in models:
            raise ConfigError(f"unknown simulator model {model!r}", where="model",
                              hint=f"available: {', '.join(models)} (`factorypilot simulator models`)")
        cls = models[model]
    else:
        raise ConfigError(f"model must be a name or a PlantModel, not {type(model).__name__}", where="model")
    cls.validate()
    return cls
