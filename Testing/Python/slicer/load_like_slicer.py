"""Load scripted module files the way Slicer does, in this (fresh) interpreter.

Run as a script by test_slicer_loading.py: only the given module folders are added to
``sys.path`` (Slicer appends each scripted module's folder), packages Slicer does not ship
are made unimportable, any installed ``omnet`` (e.g. an editable install) is hidden, and
``slicer``/``qt``/``ctk``/``vtk`` are stand-ins that accept any use. Each module file is then
executed as a module, its module class instantiated, and every file of its Lib package
imported. Prints one JSON line: where ``omnet`` came from and what was imported.
Must stay Python 3.9 syntax: it runs under the oldest supported Slicer's Python too.
"""

import argparse
import importlib
import importlib.util
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # -I leaves the script's folder out
from standins import StandInFinder, hide_installed_omnet


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--module-dir", action="append", default=[], type=Path)
    parser.add_argument("--blocked", default="")
    args = parser.parse_args(argv)

    # no installed omnet: Slicer's Python has none (an editable install adds a finder)
    hide_installed_omnet()
    sys.meta_path.insert(0, StandInFinder(filter(None, args.blocked.split(",")),
                                          ("slicer", "qt", "ctk", "vtk")))
    sys.path.remove(str(Path(__file__).resolve().parents[1]))
    for folder in args.module_dir:  # what qSlicerScriptedLoadableModuleFactory does
        sys.path.append(str(folder))

    loaded = []
    for folder in args.module_dir:
        for module_file in sorted(folder.glob("*.py")):
            name = module_file.stem
            spec = importlib.util.spec_from_file_location(name, module_file)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
            getattr(module, name)(parent=None)  # the module class, as Slicer instantiates it
            loaded.append(name)
            lib = folder / f"{name}Lib"
            for path in sorted(lib.glob("*.py")) if lib.is_dir() else []:
                if path.stem != "__init__":
                    importlib.import_module(f"{name}Lib.{path.stem}")
                    loaded.append(f"{name}Lib.{path.stem}")

    omnet = sys.modules.get("omnet")
    print(json.dumps({"loaded": loaded,
                      "omnet": str(Path(omnet.__file__).resolve().parent) if omnet else None,
                      "imported": sorted({m.split(".")[0] for m in sys.modules})}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
