#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: aurora_cluster_snapshot_info
short_description: Find an Aurora cluster's snapshots in a region (AWS Backup's too), newest first
version_added: 0.1.0
description:
  - Lists the available cluster snapshots whose source cluster identifier matches, of the types
    asked for, newest first, and returns the newest as RV(latest).
  - Why not M(amazon.aws.rds_snapshot_info)? It cannot ask for C(awsbackup) snapshots, which is
    what AWS Backup recovery points of Aurora clusters (and their cross-region copies) are.
  - Only reads; runs in check mode.
author:
  - notejam.aws maintainers (@notejam)
options:
  db_cluster_identifier_regex:
    description: Regular expression the snapshot's source cluster identifier must match (C(re.match)).
    type: str
    required: true
  snapshot_types:
    description: Snapshot types to look at.
    type: list
    elements: str
    choices: [automated, manual, awsbackup, shared]
    default: [manual, awsbackup, automated]
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Newest copy of the prod cluster in the DR region
  notejam.aws.aurora_cluster_snapshot_info:
    db_cluster_identifier_regex: "^notejam-prod-aurora"
    region: eu-central-1
  register: copies
"""

RETURN = r"""
snapshots:
  description: Matching available snapshots, newest first (snake_case).
  returned: always
  type: list
  elements: dict
latest:
  description: The newest matching snapshot, or an empty dict when there is none.
  returned: always
  type: dict
  contains:
    db_cluster_snapshot_arn:
      description: ARN to restore from.
      type: str
    db_cluster_identifier:
      description: The cluster the snapshot was taken of.
      type: str
    snapshot_create_time:
      description: When it was taken.
      type: str
"""

import re  # noqa: E402 - Ansible wants the documentation first

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.notejam.aws.plugins.module_utils.resource import (  # noqa: E402
    paginate,
    retrying_client,
    snake,
)


def main():
    module = AnsibleAWSModule(
        argument_spec={
            "db_cluster_identifier_regex": {"type": "str", "required": True},
            "snapshot_types": {
                "type": "list",
                "elements": "str",
                "choices": ["automated", "manual", "awsbackup", "shared"],
                "default": ["manual", "awsbackup", "automated"],
            },
        },
        supports_check_mode=True,
    )
    try:
        pattern = re.compile(module.params["db_cluster_identifier_regex"])
    except re.error as e:
        module.fail_json(msg=f"db_cluster_identifier_regex is not a regular expression: {e}")
    client = retrying_client(module, "rds")
    found = {}
    for snapshot_type in module.params["snapshot_types"]:
        extra = {"IncludeShared": True} if snapshot_type == "shared" else {}
        for snapshot in paginate(
            client, "describe_db_cluster_snapshots", "DBClusterSnapshots", SnapshotType=snapshot_type, **extra
        ):
            if snapshot.get("Status") == "available" and pattern.match(
                snapshot.get("DBClusterIdentifier", "")
            ):
                found[snapshot["DBClusterSnapshotArn"]] = snapshot
    newest = sorted(found.values(), key=lambda s: str(s.get("SnapshotCreateTime", "")), reverse=True)
    snapshots = [snake(s, ("TagList",)) for s in newest]
    module.exit_json(changed=False, snapshots=snapshots, latest=snapshots[0] if snapshots else {})


if __name__ == "__main__":
    main()
