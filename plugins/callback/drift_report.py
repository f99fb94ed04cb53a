# Copyright: notejam.aws maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from ansible.plugins.callback import CallbackBase
from ansible_collections.notejam.aws.plugins.plugin_utils.drift import LEDGER, tier_of

DOCUMENTATION = r"""
name: drift_report
type: aggregate
short_description: Records, per tier, what each task reports it would change
description:
  - Keeps every task result that reports C(changed) in an in-memory ledger, keyed by the role
    (tier) the task belongs to, with the paths that differ (the module's C(changes) or the keys
    its C(diff) shows changing).
  - The C(notejam.aws.drift_report) action, the last task of C(playbooks/drift.yml), reads the
    ledger and fails the run when anything drifted. Enable this callback in C(ansible.cfg)
    (C(callbacks_enabled)); the action refuses to report when it is not enabled.
  - It prints nothing itself and never changes a result.
requirements:
  - enabled in C(callbacks_enabled)
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "notejam.aws.drift_report"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_start(self, playbook):
        LEDGER.arm()

    def v2_runner_on_ok(self, result):
        outcome = result._result
        if "results" in outcome:
            return  # a loop: each item was recorded by v2_runner_item_on_ok
        if outcome.get("changed") and not outcome.get("skipped"):
            task = result._task
            LEDGER.record(tier_of(task), result._host.get_name(), task.name or task.action, outcome)

    def v2_runner_item_on_ok(self, result):
        self.v2_runner_on_ok(result)
