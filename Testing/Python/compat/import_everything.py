"""Import every ``omnet`` module and compile every shipped Python file, in this interpreter.

Run in a fresh interpreter by test_python_compat.py, under the oldest supported Python too
(Slicer 5.8's 3.9), where PyTorch may not be installable: packages that are not installed
get stand-ins (``standins.py``), so what is checked is this project's own code. Prints one
JSON line: the modules imported and the packages stood in for. Python 3.9 syntax.
"""

import importlib
import importlib.util
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "Testing" / "Python"))  # -I leaves the script's folder out
from standins import StandInFinder, hide_installed_omnet  # noqa: E402

#: Third-party packages omnet may import; each is stood in for when not installed.
OPTIONAL = ("torch", "safetensors", "sklearn", "scipy", "tqdm", "matplotlib", "monai", "medpy",
            "psutil")
#: Folders whose files run in Slicer, its child process or the tools.
SHIPPED = ("omnet", "OMNetSegmentation", "OMNetTraining", "tools")


def main() -> int:
    hide_installed_omnet()
    sys.path.remove(str(REPO / "Testing" / "Python"))
    missing = [name for name in OPTIONAL if importlib.util.find_spec(name) is None]
    sys.meta_path.insert(0, StandInFinder(stand_ins=missing))
    sys.path.insert(0, str(REPO))

    compiled = 0
    for folder in SHIPPED:
        for path in sorted((REPO / folder).rglob("*.py")):
            if "__pycache__" not in path.parts:
                compile(path.read_text(encoding="utf-8"), str(path), "exec")
                compiled += 1
    imported = []
    for path in sorted((REPO / "omnet").rglob("*.py")):
        if "__pycache__" in path.parts or path.name == "__main__.py":
            continue
        parts = path.relative_to(REPO).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        importlib.import_module(name)
        imported.append(name)
    omnet = sys.modules["omnet"]
    print(json.dumps({"imported": imported, "compiled": compiled, "stand_ins": missing,
                      "omnet": str(Path(omnet.__file__).resolve().parent),
                      "python": list(sys.version_info[:2])}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
