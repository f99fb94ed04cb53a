# Copyright: notejam.aws maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from ansible.plugins.action import ActionBase
from ansible_collections.notejam.aws.plugins.plugin_utils.drift import LEDGER


class ActionModule(ActionBase):
    """Report, per tier, what the check-mode converge before this task would change; fail on drift."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("fail_on_drift",))
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        fail_on_drift = self._task.args.get("fail_on_drift", True)
        if not isinstance(fail_on_drift, bool):
            result.update(failed=True, msg=f"fail_on_drift must be true or false, got {fail_on_drift!r}")
            return result
        if not LEDGER.armed:
            return {
                **result,
                "failed": True,
                "msg": "the notejam.aws.drift_report callback is not enabled, so drift cannot be known: "
                "add it to callbacks_enabled in ansible.cfg (this repository's ansible.cfg does)",
            }
        if not self._play_context.check_mode:
            return {
                **result,
                "failed": True,
                "msg": "a drift report needs a converge that changed nothing: run it with --check "
                "(AWX/Tower: job type Check)",
            }
        host = task_vars.get("inventory_hostname") if task_vars else None
        drift = LEDGER.by_tier(host)
        result.update(changed=False, drift=drift, drifted=bool(drift))
        if not drift:
            result["msg"] = "no drift: every tier matches its inventory"
            return result
        lines = [f"{sum(len(v) for v in drift.values())} difference(s) between AWS and the inventory:"]
        for tier, entries in drift.items():
            lines.append(f"  {tier}:")
            lines.extend(f"    - {entry}" for entry in entries)
        lines.append(
            "Put the inventory's settings back with site.yml (ansible-playbook site.yml -i "
            "inventories/<env>), or change the inventory to match what was changed by hand."
        )
        result["msg"] = "\n".join(lines)
        result["failed"] = bool(fail_on_drift)
        return result
