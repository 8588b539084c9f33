"""Security test fixtures."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The shared helpers here (route_walker, the fuzzing corpus) are imported by module name; put
# this folder on sys.path explicitly so that holds under --import-mode=importlib too.
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2 for every persona dominated run time; nothing here tests the hasher itself."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
