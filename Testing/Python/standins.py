"""Stand-ins for modules a test interpreter lacks or must not use (Python 3.9 syntax).

Used by scripts that run in a fresh interpreter: ``slicer``/``qt``/``ctk``/``vtk`` outside
Slicer, PyTorch where it cannot be installed (the oldest supported Python), and blocked
packages that must not be needed. A stand-in accepts any attribute, call, subscript or use
as a base class; a call with one callable is a decorator that returns it unchanged.
"""

import importlib.abc
import importlib.util
import sys
import types
from pathlib import Path

__all__ = ["ParameterNodeGui", "StandInFinder", "hide_installed_omnet"]


class _StandMeta(type):
    """Class-level attributes of a stand-in class are stand-in classes too."""

    def __getattr__(cls, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _StandMeta(name, (_Stand,), {})

    def __getitem__(cls, key):
        return cls


class _Stand(metaclass=_StandMeta):
    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        if len(args) == 1 and not kwargs and callable(args[0]):
            return args[0]
        return _Stand()

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Stand()

    def __getitem__(self, key):
        return _Stand()


class _StandModule(types.ModuleType):
    """A module whose every public attribute is a fresh stand-in class."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        value = _StandMeta(name, (_Stand,), {})
        setattr(self, name, value)
        return value


class StandInFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Blocks the ``blocked`` packages; serves stand-ins for the ``stand_ins`` packages."""

    def __init__(self, blocked=(), stand_ins=()):
        self.blocked, self.stand_ins = set(blocked), set(stand_ins)

    def find_spec(self, name, path=None, target=None):
        root = name.split(".")[0]
        if root in self.blocked:
            raise ModuleNotFoundError(f"No module named {name!r} (not shipped with Slicer)",
                                      name=name)
        if root in self.stand_ins:
            return importlib.util.spec_from_loader(name, self, is_package=True)
        return None

    def create_module(self, spec):
        module = _StandModule(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module):
        parent, _, child = module.__name__.rpartition(".")
        if parent:
            setattr(sys.modules[parent], child, module)


def hide_installed_omnet() -> None:
    """Forget any installed ``omnet`` (editable finders, folders holding one)."""

    def editable(hook):
        owner = getattr(hook, "__self__", hook)
        return (owner if isinstance(owner, type) else type(owner)).__module__.startswith(
            "__editable__")

    sys.meta_path[:] = [f for f in sys.meta_path if not editable(f)]
    sys.path_hooks[:] = [h for h in sys.path_hooks if not editable(h)]
    sys.path[:] = [p for p in sys.path if not (Path(p or ".") / "omnet").is_dir()]
    sys.path_importer_cache.clear()


class ParameterNodeGui:
    """The GUI half of a ``@parameterNodeWrapper`` object, as Slicer's own code behaves.

    Mirrors Base/Python/slicer/parameterNodeWrapper/wrapper.py: ``connectParametersToGui``
    returns a tag (v5.8.1 and later) that ``disconnectGui(tag)`` undoes; ``connectGui`` finds
    the widgets of a ``childWidgetVariables`` object by their ``SlicerParameterName``
    property and returns that tag only from Slicer 5.10 on: at v5.8.1 ``_connectGui`` calls
    ``_connectParametersToGui`` without returning its tag (fixed by Slicer commit
    b5a65a49a0, first in v5.10.0), so ``disconnectGui`` gets None and removes nothing.
    ``live`` holds the connections still in place (tag -> parameter name -> widget).
    """

    def __init__(self, slicer_version=(5, 8)):
        self.slicer_version = tuple(slicer_version)
        self.parameterNode = _Stand()
        self.live = {}
        self._next_tag = 0

    def connectParametersToGui(self, mapping):  # noqa: N802 (Slicer's names)
        tag, self._next_tag = self._next_tag, self._next_tag + 1
        self.live[tag] = dict(mapping)
        return tag

    def connectGui(self, gui):  # noqa: N802
        mapping = {}
        for widget in gui.__dict__.values():
            if widget.property("SlicerParameterName"):
                mapping[widget.property("SlicerParameterName")] = widget
        tag = self.connectParametersToGui(mapping)
        return tag if self.slicer_version >= (5, 10) else None

    def disconnectGui(self, tag):  # noqa: N802
        self.live.pop(tag, None)
