#!/usr/bin/python
# Copyright: notejam.aws maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# The work is done by the action plugin of the same name (plugins/action/drift_report.py); this
# file carries its documentation.
from __future__ import annotations

DOCUMENTATION = r"""
module: drift_report
short_description: Report what a check-mode converge would change, per tier, and fail on drift
description:
  - Reads what the tasks before it in the same playbook reported they would change (recorded by
    the C(notejam.aws.drift_report) callback) and reports it per tier (role) for this host, with
    the paths that differ. Fails when anything drifted, so a scheduled drift check turns red.
  - Runs on the controller. The run must be in check mode (C(--check); in AWX/Tower a job template
    of type Check), and the callback must be enabled in C(callbacks_enabled).
version_added: 0.1.0
options:
  fail_on_drift:
    description: Fail the task when anything drifted (otherwise only report it).
    type: bool
    default: true
author:
  - notejam.aws maintainers
"""

EXAMPLES = r"""
- name: Report the drift of this environment
  notejam.aws.drift_report:
"""

RETURN = r"""
drift:
  description:
    - For each tier that drifted, one line per resource that would change, naming the paths that differ.
  returned: always
  type: dict
  sample: {"network": ["Converge the security groups notejam-dev-app: ingress"]}
drifted:
  description: Whether anything drifted.
  returned: always
  type: bool
"""
