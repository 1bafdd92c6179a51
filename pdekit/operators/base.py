"""Models that remember how they were built: the serialisable base of every pdekit network.

A subclass of :class:`OperatorModel` records the arguments its constructor was called with
(:attr:`OperatorModel.config`) and is registered under its class name, so a checkpoint holds
only plain data (the class name, the arguments, the ``state_dict``) and
:func:`load` rebuilds the model with ``torch.load(weights_only=True)``: no pickled code is
ever executed.

A checkpoint is a dict::

    {"format": "pdekit.operators", "model": "FNO", "config": {...}, "config_version": 2,
     "state_dict": {...}, "pdekit_version": "0.1.0"}

(a checkpoint without ``config_version`` has version 1).

Constructor arguments may be ``None``, bools, ints, floats, strings, lists, tuples, dicts with
string keys, functions of ``torch`` and ``torch.nn.functional`` (such as ``F.gelu``, stored by
name and looked up again, never unpickled), or other :class:`OperatorModel` instances (stored as
their own configuration; their weights travel in the parent's ``state_dict``).

A class whose constructor changes meaning between pdekit versions raises its
:attr:`OperatorModel.config_version` and maps older configurations in
:meth:`OperatorModel.upgrade_config`, so a checkpoint saved before the change rebuilds the
very same network.

Examples
--------
>>> import torch, tempfile, os
>>> class Scale(OperatorModel):
...     def __init__(self, channels: int, *, init: float = 1.0):
...         super().__init__()
...         self.weight = torch.nn.Parameter(torch.full((channels,), init))
...     def forward(self, x):
...         return x * self.weight[:, None]
>>> m = Scale(3, init=2.0)
>>> m.config
{'channels': 3, 'init': 2.0}
>>> path = os.path.join(tempfile.mkdtemp(), "scale.pt")
>>> m.save(path)
>>> load(path).config
{'channels': 3, 'init': 2.0}
"""

from __future__ import annotations

import copy
import functools
import importlib
import inspect
import os
from typing import Any, Mapping

import torch

from pdekit._atomic import atomic_path

__all__ = ["OperatorModel", "load", "from_checkpoint", "registered_models", "CheckpointError"]

FORMAT = "pdekit.operators"
_REGISTRY: dict[str, type["OperatorModel"]] = {}
_NESTED = "__operator_model__"
_FUNCTION = "__torch_function__"
_FUNCTION_HOMES = ("torch.nn.functional", "torch")


def _function_name(value: Any) -> str | None:
    """``"torch.nn.functional.gelu"`` for a function of torch's namespaces, else None."""
    if isinstance(value, type) or not callable(value) or isinstance(value, torch.nn.Module):
        return None
    name = getattr(value, "__name__", None)
    if not isinstance(name, str):
        return None
    for home in _FUNCTION_HOMES:
        module = importlib.import_module(home)
        if getattr(module, name, None) is value:
            return f"{home}.{name}"
    return None


def _function_from_name(qualified: str) -> Any:
    """The torch function stored as ``qualified`` (only names in torch's own namespaces)."""
    home, _, name = qualified.rpartition(".")
    if home not in _FUNCTION_HOMES or not name.isidentifier() or name.startswith("_"):
        raise CheckpointError(f"checkpoint refers to the function {qualified!r}; only functions of "
                              f"{list(_FUNCTION_HOMES)} can be stored")
    value = getattr(importlib.import_module(home), name, None)
    if value is None or not callable(value):
        raise CheckpointError(f"checkpoint refers to {qualified!r}, which this torch does not have")
    return value


class CheckpointError(ValueError):
    """A file or dict is not a pdekit operator checkpoint, or not of the model expected."""


def registered_models() -> dict[str, type["OperatorModel"]]:
    """Return a copy of the registry: class name -> OperatorModel subclass."""
    _import_builtin_models()
    return dict(_REGISTRY)


def _check_storable(value: Any, where: str) -> Any:
    """Return ``value`` converted to plain data that ``torch.load(weights_only=True)`` accepts."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, OperatorModel):
        return {_NESTED: type(value).__name__, "config": value._serialised_config(),
                "config_version": int(type(value).config_version)}
    if isinstance(value, (list, tuple)):
        items = [_check_storable(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"constructor argument {where} has a non-string key {k!r}; "
                                "a saveable model takes dicts with string keys only")
            out[k] = _check_storable(v, f"{where}[{k!r}]")
        return out
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:  # numpy / torch scalars
        return value.item()
    function = _function_name(value)
    if function is not None:
        return {_FUNCTION: function}
    raise TypeError(
        f"constructor argument {where} = {value!r} of type {type(value).__name__} cannot be "
        "stored in a checkpoint; expected None, bool, int, float, str, list, tuple, dict, a function "
        "of torch or torch.nn.functional, or an OperatorModel"
    )


def _rebuild_value(value: Any) -> Any:
    if isinstance(value, dict):
        if _NESTED in value and set(value) in ({_NESTED, "config"}, {_NESTED, "config", "config_version"}):
            return _build(value[_NESTED], value["config"], int(value.get("config_version", 1)))
        if set(value) == {_FUNCTION}:
            return _function_from_name(value[_FUNCTION])
        return {k: _rebuild_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rebuild_value(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_rebuild_value(v) for v in value)
    return value


def _wrap_init(cls: type, init):
    signature = inspect.signature(init)
    params = list(signature.parameters.values())[1:]
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        raise TypeError(f"{cls.__name__}.__init__ takes *args; an OperatorModel must name its "
                        "constructor arguments so that they can be saved")

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        outermost = "_config" not in self.__dict__
        if outermost:
            bound = signature.bind(self, *args, **kwargs)
            bound.apply_defaults()
            config: dict[str, Any] = {}
            for name, value in list(bound.arguments.items())[1:]:
                if signature.parameters[name].kind is inspect.Parameter.VAR_KEYWORD:
                    config.update(value)
                else:
                    config[name] = value
            # bypass nn.Module.__setattr__: set before Module.__init__ has run
            object.__setattr__(self, "_config", config)
        init(self, *args, **kwargs)
        if outermost:
            self._serialised_config()  # fail at construction, not at save time

    return __init__


class OperatorModel(torch.nn.Module):
    """Base of pdekit networks: records constructor arguments, saves and reloads itself.

    Subclasses are registered by class name (two subclasses with one name: the later wins)
    and get :meth:`save`, :meth:`to_checkpoint`, :attr:`config` and the class method
    :meth:`load` without writing any code.
    """

    _config: dict[str, Any]

    #: version of the meaning of the constructor's arguments; checkpoints record it
    config_version: int = 1

    @classmethod
    def upgrade_config(cls, config: dict[str, Any], version: int) -> dict[str, Any]:
        """Map the configuration of a checkpoint written at ``config_version == version`` to the
        arguments that rebuild the same network today (the base class changes nothing)."""
        return config

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None:
            cls.__init__ = _wrap_init(cls, init)
        _REGISTRY[cls.__name__] = cls

    @property
    def config(self) -> dict[str, Any]:
        """Constructor arguments (a deep copy): ``type(model)(**model.config)`` rebuilds it."""
        return copy.deepcopy(self.__dict__.get("_config", {}))

    def _serialised_config(self) -> dict[str, Any]:
        return _check_storable(self.__dict__.get("_config", {}), type(self).__name__)

    def n_parameters(self) -> int:
        """Number of trainable scalars (a complex parameter counts once, as in neuraloperator)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def to_checkpoint(self) -> dict[str, Any]:
        """Return the checkpoint dict (class name, config, state_dict, pdekit version)."""
        from pdekit import __version__

        return {
            "format": FORMAT,
            "model": type(self).__name__,
            "config": self._serialised_config(),
            "config_version": int(type(self).config_version),
            "state_dict": self.state_dict(),
            "pdekit_version": __version__,
        }

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> None:
        """Write the model to ``path`` atomically (``torch.save`` of :meth:`to_checkpoint`).

        Parameters
        ----------
        path : path-like
        overwrite : bool
            Replace an existing file; without it an existing file is refused
            (FileExistsError, nothing written), as by every writer of pdekit.
        """
        checkpoint = self.to_checkpoint()
        with atomic_path(path, overwrite=overwrite) as tmp:
            torch.save(checkpoint, tmp)

    @classmethod
    def load(cls, path: str | os.PathLike, *, map_location=None) -> "OperatorModel":
        """Rebuild a model saved by :meth:`save`; raise CheckpointError if it is another model."""
        return load(path, map_location=map_location, expected=cls)


def _import_builtin_models() -> None:
    """Import the modules of ``pdekit.operators`` so that their models are registered."""
    package = importlib.import_module("pdekit.operators")
    for module in sorted(set(getattr(package, "_EXPORTS", {}).values())):
        try:
            importlib.import_module(f"pdekit.operators.{module}")
        except Exception:  # noqa: BLE001 - a broken module elsewhere must not block loading the others
            continue


def _build(name: str, config: Mapping[str, Any], version: int) -> OperatorModel:
    """Rebuild model ``name`` from ``config`` written at ``config_version == version``."""
    if name not in _REGISTRY:
        _import_builtin_models()
    if name not in _REGISTRY:
        raise CheckpointError(
            f"checkpoint holds a model of class {name!r}, which is not registered; known models: "
            f"{sorted(_REGISTRY)} (import the module that defines {name!r} first)"
        )
    cls = _REGISTRY[name]
    config = dict(config)
    if version < cls.config_version:
        config = cls.upgrade_config(config, version)
    return cls(**_rebuild_value(config))


def from_checkpoint(checkpoint: Mapping[str, Any], *, expected: type | None = None,
                    source: str = "checkpoint") -> OperatorModel:
    """Rebuild a model from a dict made by :meth:`OperatorModel.to_checkpoint`.

    Parameters
    ----------
    checkpoint : dict
        With keys ``format``, ``model``, ``config``, ``state_dict``.
    expected : type, optional
        If given, the checkpoint must hold an instance of this class (or a subclass).
    source : str
        How to name the checkpoint in error messages.

    Raises
    ------
    CheckpointError
        Not a pdekit operator checkpoint, a model of another class than ``expected``, or
        weights that do not fit the rebuilt model.
    """
    if not isinstance(checkpoint, Mapping) or checkpoint.get("format") != FORMAT:
        keys = sorted(checkpoint) if isinstance(checkpoint, Mapping) else type(checkpoint).__name__
        raise CheckpointError(
            f"{source} is not a pdekit operator checkpoint (expected a dict with format={FORMAT!r} "
            f"as written by OperatorModel.save); found {keys}"
        )
    missing = {"model", "config", "state_dict"} - set(checkpoint)
    if missing:
        raise CheckpointError(f"{source} is an incomplete pdekit checkpoint; missing {sorted(missing)}")
    name = checkpoint["model"]
    if expected is not None and name != expected.__name__:
        cls = _REGISTRY.get(name)
        if cls is None or not issubclass(cls, expected):
            raise CheckpointError(
                f"{source} holds a {name!r} model, not the {expected.__name__!r} that was asked for"
            )
    model = _build(name, checkpoint["config"], int(checkpoint.get("config_version", 1)))
    try:
        model.load_state_dict(checkpoint["state_dict"])
    except RuntimeError as err:
        raise CheckpointError(f"{source}: the weights do not fit a {name} built from the stored "
                              f"configuration: {err}") from err
    return model


def load(path: str | os.PathLike, *, map_location=None, expected: type | None = None) -> OperatorModel:
    """Load a model saved with :meth:`OperatorModel.save`.

    Parameters
    ----------
    path : path-like
        The checkpoint file.
    map_location : optional
        Passed to :func:`torch.load` (e.g. ``"cpu"`` to load GPU weights on a CPU machine).
    expected : type, optional
        Require the checkpoint to hold this model class.

    Returns
    -------
    OperatorModel
        The rebuilt model, with its weights, in training mode as constructed.

    Raises
    ------
    FileNotFoundError
        No such file.
    CheckpointError
        The file is not a pdekit operator checkpoint (or not a torch file at all), or holds
        another model than ``expected``.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no checkpoint file at {path!r}")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - whatever the unpickler trips on, the file is not ours
        raise CheckpointError(
            f"{path!r} is not a pdekit operator checkpoint readable with weights_only=True: {err}"
        ) from err
    return from_checkpoint(checkpoint, expected=expected, source=repr(path))
