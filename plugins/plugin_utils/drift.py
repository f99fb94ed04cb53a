# Copyright: notejam.aws maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drift ledger: what a check-mode converge would change, per tier.

The ``notejam.aws.drift_report`` callback records every task result that reports a change, in the
controller's main process. The ``notejam.aws.drift_report`` action, the last task of
``playbooks/drift.yml``, reads the ledger in a worker that ansible-core forks from that process
(``ansible.utils.multiprocessing`` uses the ``fork`` start method), so it sees every entry recorded
before it started. Nothing is written to disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Keys of a result that name the resource a task manages, in the order they are tried.
_IDENTIFYING_KEYS = ("name", "resource_id", "group_name", "arn", "id")
_MAX_PATHS = 8


@dataclass
class DriftEntry:
    tier: str
    host: str
    task: str
    resource: str
    paths: list = field(default_factory=list)

    def line(self):
        where = f" {self.resource}" if self.resource else ""
        what = ", ".join(self.paths) if self.paths else "would change (the module gave no detail)"
        return f"{self.task}{where}: {what}"


class DriftLedger:
    def __init__(self):
        self.armed = False
        self.entries = []

    def arm(self):
        """Called when a playbook starts: the callback is enabled and the ledger is empty."""
        self.armed = True
        self.entries = []

    def record(self, tier, host, task, result):
        self.entries.append(DriftEntry(tier, host, task, resource_of(result), changed_paths(result)))

    def by_tier(self, host=None):
        """{tier: [line, ...]} for one host (or all), in the order the tasks ran."""
        report = {}
        for entry in self.entries:
            if host is None or entry.host == host:
                report.setdefault(entry.tier, []).append(entry.line())
        return report


LEDGER = DriftLedger()


def tier_of(task):
    """The role a task belongs to, without its collection prefix ('notejam.aws.network' -> 'network')."""
    role = getattr(task, "_role", None)
    if role is None:
        return "playbook"
    return role.get_name().rsplit(".", 1)[-1]


def resource_of(result):
    for key in _IDENTIFYING_KEYS:
        value = result.get(key)
        if isinstance(value, str) and value:
            return value
    for value in result.values():
        if isinstance(value, dict):
            for key in _IDENTIFYING_KEYS:
                inner = value.get(key)
                if isinstance(inner, str) and inner:
                    return inner
    return ""


def changed_paths(result):
    """What differs: the module's own ``changes`` list, else the keys its ``diff`` shows changing."""
    changes = result.get("changes")
    if isinstance(changes, list) and changes:
        paths = [str(change) for change in changes]
    else:
        paths = []
        diffs = result.get("diff")
        for diff in diffs if isinstance(diffs, list) else [diffs]:
            if isinstance(diff, dict):
                paths.extend(_diff_keys(diff.get("before"), diff.get("after")))
    if len(paths) > _MAX_PATHS:
        paths = [*paths[:_MAX_PATHS], f"... {len(paths) - _MAX_PATHS} more"]
    return paths


def _diff_keys(before, after):
    if isinstance(before, dict) and isinstance(after, dict):
        keys = sorted(set(before) | set(after))
        return [key for key in keys if before.get(key) != after.get(key)]
    if before != after:
        return ["(whole resource)"] if before in (None, {}, "") else ["(value)"]
    return []
