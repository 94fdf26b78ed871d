"""Bind a module panel's widgets to its parameter node, undoably on every supported Slicer.

Pure: takes the wrapper and the ``slicer.util.childWidgetVariables`` object it is given.
``connectGui(ui)`` returns the tag that ``disconnectGui(tag)`` needs only from Slicer 5.10
on: at v5.8.1, ``_connectGui`` in Base/Python/slicer/parameterNodeWrapper/wrapper.py calls
``_connectParametersToGui`` without returning its tag (Slicer commit b5a65a49a0 fixed it for
5.10). With None as the tag nothing is disconnected, so every time the module is shown again
another set of connectors is added, and the stale ones write each combo box's first choice
into the parameter node while the new ones refill the boxes. ``connectParametersToGui``
returns the tag on 5.8, 5.10 and 5.12 alike.
"""

from __future__ import annotations

__all__ = ["PARAMETER_NAME_PROPERTY", "bound_widgets", "connect_gui"]

#: The Qt property naming a widget's parameter (``SlicerParameterNamePropertyName``).
PARAMETER_NAME_PROPERTY = "SlicerParameterName"


def bound_widgets(ui) -> dict:
    """Parameter name -> widget, for each widget of ``ui`` whose .ui file names a parameter
    (the widgets ``connectGui`` finds in a ``childWidgetVariables`` object)."""
    mapping = {}
    for widget in vars(ui).values():
        name = widget.property(PARAMETER_NAME_PROPERTY)
        if name:
            mapping[name] = widget
    return mapping


def connect_gui(parameter_node, ui):
    """Connect ``ui``'s bound widgets to ``parameter_node`` (a ``@parameterNodeWrapper``
    object); returns the tag for its ``disconnectGui``."""
    return parameter_node.connectParametersToGui(bound_widgets(ui))
