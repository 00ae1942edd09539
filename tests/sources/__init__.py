"""Tests of the webhook sources, one file per source; ``sources.common`` holds what they share.

This file makes ``tests/sources`` the package ``sources`` for pytest (``tests`` is on its
pythonpath) and for mypy (``tests`` is on its path) alike, so ``from sources.common import``
means the same module to both. It is not ``cdhelper.sources``.
"""
