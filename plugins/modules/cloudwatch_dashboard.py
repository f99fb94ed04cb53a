#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: cloudwatch_dashboard
short_description: A CloudWatch dashboard whose body is compared as JSON, not as text
version_added: 0.3.0
description:
  - Creates, updates or deletes a CloudWatch dashboard found by its name.
  - The body is compared as data (parsed JSON), so key order, whitespace and number formatting never
    count as a change; a second run with the same body makes no C(PutDashboard) call.
  - C(PutDashboard) validation messages fail the task (AWS stores a dashboard with warnings; this
    module does not accept any).
  - Dashboards are not tagged (C(PutDashboard) takes no tags).
author:
  - notejam.aws maintainers (@notejam)
options:
  name:
    description: Name of the dashboard.
    type: str
    required: true
  body:
    description: The dashboard body (C(widgets), ...), as a dict or its JSON text.
    type: json
  state:
    description: C(present) creates or updates; C(absent) deletes the dashboard.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: The environment's dashboard
  notejam.aws.cloudwatch_dashboard:
    name: notejam-prod
    body: "{{ lookup('template', 'dashboard.json.j2') }}"
"""

RETURN = r"""
dashboard:
  description: The dashboard (empty when absent).
  returned: always
  type: dict
  contains:
    dashboard_arn:
      description: ARN of the dashboard.
      type: str
    dashboard_name:
      description: Name of the dashboard.
      type: str
    body:
      description: The body, parsed.
      type: dict
changes:
  description: Dotted paths of what differed in the body.
  returned: always
  type: list
  elements: str
"""

import json  # noqa: E402

try:
    import botocore
except ImportError:  # AnsibleAWSModule reports the missing dependency
    botocore = None

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.notejam.aws.plugins.module_utils.resource import AwsResource, whole  # noqa: E402


class Dashboard(AwsResource):
    service = "cloudwatch"
    result_key = "dashboard"

    def validate(self):
        p = self.params
        if p["state"] == "absent":
            return
        try:
            body = json.loads(p["body"]) if p["body"] else None
        except ValueError:
            self.module.fail_json(msg="body is not a JSON document")
        if not isinstance(body, dict) or not isinstance(body.get("widgets"), list):
            self.module.fail_json(msg="body must be a dashboard body: a dict with a widgets list")
        self.body = body

    def read(self):
        try:
            found = self.client.get_dashboard(DashboardName=self.params["name"])
        except botocore.exceptions.ClientError as e:
            # DashboardNotFoundError in the model; its wire code is ResourceNotFound.
            if e.response["Error"]["Code"] in ("ResourceNotFound", "DashboardNotFoundError"):
                return None
            raise
        return {
            "DashboardArn": found.get("DashboardArn"),
            "DashboardName": found.get("DashboardName"),
            "Body": json.loads(found.get("DashboardBody") or "{}"),
        }

    def comparable(self, raw):
        return {"Body": raw["Body"]}

    def desired(self, before):
        return {"Body": whole(self.body)}

    def create(self, after):
        self._put(after)

    def update(self, before, after, changes):
        self._put(after)

    def _put(self, after):
        answer = self.client.put_dashboard(
            DashboardName=self.params["name"], DashboardBody=json.dumps(after["Body"], sort_keys=True)
        )
        messages = answer.get("DashboardValidationMessages") or []
        if messages:
            self.module.fail_json(
                msg=f"CloudWatch did not accept the body of {self.params['name']}", messages=messages
            )

    def delete(self, raw):
        self.client.delete_dashboards(DashboardNames=[self.params["name"]])

    def returned(self, raw):
        return {
            "dashboard_arn": raw["DashboardArn"],
            "dashboard_name": raw["DashboardName"],
            "body": raw["Body"],
        }

    def predicted(self, raw, after):
        if after is None:
            return {}
        return {"dashboard_name": self.params["name"], "body": after["Body"]}


def main():
    argument_spec = {
        "name": {"type": "str", "required": True},
        "body": {"type": "json"},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    }
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[("state", "present", ["body"])],
    )
    Dashboard(module).run()


if __name__ == "__main__":
    main()
