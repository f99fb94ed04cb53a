"""What a benchmark report says about the machine it ran on."""

import os
import platform
from pathlib import Path


def cpu_model():
    """The CPU's model name from /proc/cpuinfo ("unknown" where there is none)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def describe(load=False):
    """Cores, CPU model and Python version, and the 1-minute load average when asked."""
    text = f"{os.cpu_count()} cores (nproc), {cpu_model()}, Python {platform.python_version()}"
    return f"{text}, load {os.getloadavg()[0]:.2f}" if load else text
