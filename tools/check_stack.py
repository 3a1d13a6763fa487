"""Fail unless the installed versions are exactly the pins of a constraints file.

``make test-colab`` runs it after installing the course into Colab's stack: installing ganlib
must not have replaced torch, torchvision, ipywidgets or matplotlib by other versions.

    python tools/check_stack.py constraints-colab.txt
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path


def pins(path: Path) -> dict[str, str]:
    """``name==version`` lines of a constraints file (comments and blank lines skipped)."""
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, wanted = line.split("==", 1)
            found[name.strip()] = wanted.strip()
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    wrong = []
    for name, wanted in pins(Path(argv[0])).items():
        try:
            have = version(name)
        except PackageNotFoundError:
            have = "not installed"
        if have.split("+")[0] != wanted:
            wrong.append(f"{name}: {have}, not {wanted}")
    for line in wrong:
        print(f"check_stack: {line}", file=sys.stderr)
    if not wrong:
        print(f"check_stack: {', '.join(f'{k} {v}' for k, v in pins(Path(argv[0])).items())}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
