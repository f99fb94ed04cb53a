# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: vpc_flow_log
short_description: Manage a VPC flow log delivered to CloudWatch Logs
version_added: 0.1.0
author:
  - Notejam maintainers (@notejam)
description:
  - Ensures one flow log for a VPC that delivers to a CloudWatch Logs group, identified by the VPC
    and the log group, so re-runs find it instead of creating another.
  - AWS cannot modify a flow log; a change of traffic type, role or aggregation interval replaces
    it (delete, then create), and the module says so in RV(changes).
  - amazon.aws and community.aws ship no module for flow logs.
options:
  vpc_id:
    description: The VPC whose traffic is logged.
    type: str
    required: true
  log_group_name:
    description: The CloudWatch Logs group that receives the records (it must exist).
    type: str
    required: true
  deliver_logs_permission_arn:
    description:
      - ARN of the IAM role that lets the flow logs service write to the log group.
      - Required when O(state=present).
    type: str
  traffic_type:
    description: Which traffic to record.
    type: str
    choices: [ACCEPT, REJECT, ALL]
    default: ALL
  max_aggregation_interval:
    description: Seconds over which records are aggregated.
    type: int
    choices: [60, 600]
    default: 600
  state:
    description: Whether the flow log exists.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Log every accepted and rejected flow of the VPC
  notejam.aws.vpc_flow_log:
    vpc_id: vpc-0123456789abcdef0
    log_group_name: /notejam/prod/vpc-flow-logs
    deliver_logs_permission_arn: arn:aws:iam::123456789012:role/notejam-prod-flow-logs
    traffic_type: ALL
    tags:
      Name: notejam-prod-flow-logs
"""

RETURN = r"""
flow_log:
  description: The flow log as AWS describes it (empty when absent).
  returned: always
  type: dict
  contains:
    flow_log_id:
      description: The flow log's id.
      type: str
      sample: fl-0123456789abcdef0
    traffic_type:
      description: Which traffic is recorded.
      type: str
      sample: ALL
changes:
  description: Dotted paths of the fields that differed from the desired state.
  returned: always
  type: list
  elements: str
  sample: [trafficType]
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (  # noqa: E402
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
)
from ansible_collections.notejam.aws.plugins.module_utils.resource import (  # noqa: E402
    AwsResource,
    client_token,
    tag_delta,
    tags_after,
)

# Fields AWS fixes at creation: any difference among them means the flow log is replaced.
IMMUTABLE = ("trafficType", "deliverLogsPermissionArn", "maxAggregationInterval", "logGroupName")


class FlowLog(AwsResource):
    service = "ec2"
    result_key = "flow_log"

    def read(self):
        found = self.client.describe_flow_logs(
            Filters=[
                {"Name": "resource-id", "Values": [self.params["vpc_id"]]},
                {"Name": "log-group-name", "Values": [self.params["log_group_name"]]},
            ]
        )["FlowLogs"]
        live = [f for f in found if f.get("FlowLogStatus", "ACTIVE") == "ACTIVE"]
        return live[0] if live else None

    def comparable(self, raw):
        return {
            "trafficType": raw.get("TrafficType"),
            "deliverLogsPermissionArn": raw.get("DeliverLogsPermissionArn"),
            "maxAggregationInterval": raw.get("MaxAggregationInterval", 600),
            "logGroupName": raw.get("LogGroupName"),
            "tags": boto3_tag_list_to_ansible_dict(raw.get("Tags", [])),
        }

    def desired(self, before):
        return {
            "trafficType": self.params["traffic_type"],
            "deliverLogsPermissionArn": self.params["deliver_logs_permission_arn"],
            "maxAggregationInterval": self.params["max_aggregation_interval"],
            "logGroupName": self.params["log_group_name"],
            "tags": tags_after((before or {}).get("tags"), self.params["tags"], self.params["purge_tags"]),
        }

    def create(self, after):
        params = {
            "ResourceIds": [self.params["vpc_id"]],
            "ResourceType": "VPC",
            "TrafficType": after["trafficType"],
            "LogDestinationType": "cloud-watch-logs",
            "LogGroupName": after["logGroupName"],
            "DeliverLogsPermissionArn": after["deliverLogsPermissionArn"],
            "MaxAggregationInterval": after["maxAggregationInterval"],
            "ClientToken": client_token(),
        }
        if after.get("tags"):
            params["TagSpecifications"] = [
                {"ResourceType": "vpc-flow-log", "Tags": ansible_dict_to_boto3_tag_list(after["tags"])}
            ]
        response = self.client.create_flow_logs(**params)
        if response.get("Unsuccessful"):
            error = response["Unsuccessful"][0].get("Error", {})
            self.module.fail_json(
                msg=f"Creating the flow log failed: {error.get('Code')}: {error.get('Message')}"
            )

    def update(self, before, after, changes):
        if any(path.split(".")[0] in IMMUTABLE for path in changes):
            self.delete(self.read())
            self.create(after)
            return
        to_set, to_unset = tag_delta(before.get("tags"), after.get("tags"))
        flow_log_id = self.read()["FlowLogId"]
        if to_set:
            self.client.create_tags(Resources=[flow_log_id], Tags=ansible_dict_to_boto3_tag_list(to_set))
        if to_unset:
            self.client.delete_tags(Resources=[flow_log_id], Tags=[{"Key": k} for k in to_unset])

    def delete(self, raw):
        self.client.delete_flow_logs(FlowLogIds=[raw["FlowLogId"]])


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            vpc_id=dict(type="str", required=True),
            log_group_name=dict(type="str", required=True),
            deliver_logs_permission_arn=dict(type="str"),
            traffic_type=dict(type="str", choices=["ACCEPT", "REJECT", "ALL"], default="ALL"),
            max_aggregation_interval=dict(type="int", choices=[60, 600], default=600),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        required_if=[("state", "present", ["deliver_logs_permission_arn"])],
        supports_check_mode=True,
    )
    FlowLog(module).run()


if __name__ == "__main__":
    main()
