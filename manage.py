#!/usr/bin/env python
"""Django's command-line entry point for the platform."""

import os
import sys
from pathlib import Path

# The Django apps live in platform/ as top-level packages (accounts, audit, ...). platform/ itself
# is deliberately not a package, so `import platform` keeps meaning the standard library module.
sys.path.insert(0, str(Path(__file__).resolve().parent / "platform"))


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
