"""Logic behind the OMNetSegmentation module (and shared with OMNetTraining).

Modules that never import ``slicer`` (``roles``, ``names``, ``command``, ``process``, ``job``,
``segments``, ``models``, ``dependencies``, ``support``, ``binding``, ``skullcheck``) hold the
decisions and are tested with pytest outside Slicer. ``scene``, ``install``, ``logic``,
``demo``, ``panel`` and ``selftest`` are the thin layer that talks to MRML and run only inside
Slicer.

Importing this package makes the ``omnet`` package that came with the modules importable
(see :func:`use_bundled_omnet`), before any submodule imports it.
"""

import sys
from pathlib import Path


def use_bundled_omnet() -> None:
    """Put the folder holding the modules' own ``omnet`` package first on ``sys.path``.

    Slicer puts only each scripted module's folder on ``sys.path``. The extension build
    installs ``omnet`` beside the module files (that folder), a repository checkout has it
    one level up (the repository root). Either way the copy that came with these modules
    wins over any other ``omnet`` installed in Slicer's Python. Nothing is imported here.
    """
    if "omnet" in sys.modules:
        return
    module_folder = Path(__file__).resolve().parent.parent
    for folder in (module_folder, module_folder.parent):
        if (folder / "omnet" / "__init__.py").is_file():
            text = str(folder)
            if sys.path[:1] != [text]:
                while text in sys.path:
                    sys.path.remove(text)
                sys.path.insert(0, text)
            return


use_bundled_omnet()
