"""Patches that make moto behave like AWS, one module per service.

Each module in this package defines ``apply()``, which patches moto's backends in the current
process and must be safe to call more than once. ``apply_all()`` is called by the emulator server
at start-up and by the in-process unit-test fixtures, so both see the same, faithful behaviour.
Modules may also define ``STANDINS``: a mapping of (service signing name, operation name) to a
callable that serves an operation moto lacks (see ``tests/emulator/standins.py``).
"""

import importlib
import pkgutil

_applied = False


def service_modules():
    """Every fix module in this package, imported, in name order."""
    return [
        importlib.import_module(f"{__name__}.{info.name}")
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name)
    ]


def apply_all():
    """Apply every service's fixes once per process."""
    global _applied
    if _applied:
        return
    for module in service_modules():
        module.apply()
    _applied = True
