# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Input checks that must fail before the first AWS call, naming the parameter and what it accepts.

Why: AWS rejects many bad values only half way through a run (after a repository or role was
already created), with messages that do not name the playbook variable. These checks run in a
module's ``main()`` before its resource object is built.
"""

import re

# Valid Fargate task sizes (AWS ECS developer guide, "Task CPU and memory"): CPU units to the
# memory values (MiB) allowed with it.
FARGATE_CPU_MEMORY = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}

_VCPU = re.compile(r"^\s*(\d*\.?\d+)\s*vcpu\s*$", re.IGNORECASE)
_GB = re.compile(r"^\s*(\d*\.?\d+)\s*gb\s*$", re.IGNORECASE)


def cpu_units(value):
    """Task CPU as AWS stores it (units, e.g. ``"1 vCPU"`` -> 1024); ``None`` stays ``None``.
    Raises ValueError for anything else."""
    if value is None:
        return None
    text = str(value).strip()
    match = _VCPU.match(text)
    if match:
        return int(float(match.group(1)) * 1024)
    if text.isdigit():
        return int(text)
    raise ValueError(f"{value!r} is neither CPU units (e.g. 512) nor vCPU (e.g. '1 vCPU')")


def memory_mib(value):
    """Task memory as AWS stores it (MiB, e.g. ``"2 GB"`` -> 2048); ``None`` stays ``None``."""
    if value is None:
        return None
    text = str(value).strip()
    match = _GB.match(text)
    if match:
        return int(float(match.group(1)) * 1024)
    if text.isdigit():
        return int(text)
    raise ValueError(f"{value!r} is neither MiB (e.g. 2048) nor GB (e.g. '2 GB')")


def fargate_size_error(cpu, memory, cpu_param="cpu", memory_param="memory"):
    """A message naming the parameters and the accepted values when (cpu, memory) is not a valid
    Fargate size, else ``None``."""
    if cpu not in FARGATE_CPU_MEMORY:
        accepted = ", ".join(str(c) for c in FARGATE_CPU_MEMORY)
        return f"{cpu_param}={cpu} is not a Fargate CPU size; accepted: {accepted}"
    allowed = FARGATE_CPU_MEMORY[cpu]
    if memory not in allowed:
        if len(allowed) <= 3:
            accepted = ", ".join(str(m) for m in allowed)
        else:
            step = allowed[1] - allowed[0]
            accepted = f"{allowed[0]} to {allowed[-1]} in steps of {step}"
        return f"{memory_param}={memory} is not valid with {cpu_param}={cpu} on Fargate; accepted: {accepted}"
    return None


def check(module, ok, msg):
    """Fail the module with ``msg`` (before any AWS call) unless ``ok``."""
    if not ok:
        module.fail_json(msg=msg)
