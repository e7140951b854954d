"""Sector plant models by name, from the sector pilots registered in the ``factorypilot.pilots`` entry-point group
(each declares a plant-model factory; a third party ships one as its own distribution). The testbed never imports a
sector package by name."""

from __future__ import annotations

import logging

from factorypilot.errors import ConfigError

from ._model import PlantModel

__all__ = ["ENTRY_POINT_GROUP", "available_models", "resolve_model"]

ENTRY_POINT_GROUP = "factorypilot.pilots"
_log = logging.getLogger(__name__)


def available_models() -> dict[str, type[PlantModel]]:
    """Model name → class, from every installed sector pilot that declares a plant model."""
    from factorypilot.pilots.sectors import sector_pilots

    models: dict[str, type[PlantModel]] = {}
    for name, pilot in sector_pilots().items():
        try:
            obj = pilot.plant_model()
        except ImportError as exc:  # a broken plugin must not hide the others
            _log.warning("plant model of sector pilot %r cannot be imported: %s", name, exc)
            continue
        if obj is None:
            continue
        if isinstance(obj, type) and issubclass(obj, PlantModel):
            models.setdefault(obj.name, obj)
        else:
            _log.warning("sector pilot %r: its plant factory did not return a PlantModel subclass", name)
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
