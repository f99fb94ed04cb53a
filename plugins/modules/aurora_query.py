#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: aurora_query
short_description: Run one read-only SQL statement on an Aurora cluster through the RDS Data API
version_added: 0.1.0
description:
  - Runs a C(SELECT), C(SHOW), C(DESCRIBE) or C(EXPLAIN) statement with the RDS Data API, signed
    in with the cluster's Secrets Manager secret, and returns the rows. Used to check a restored
    cluster from the controller, which cannot reach the private subnets.
  - Never changes anything (C(changed) is always false); any other statement is refused before
    the call. Runs in check mode too.
  - The cluster must have the Data API turned on
    (O(notejam.aws.aurora_cluster#module:enable_http_endpoint) of M(notejam.aws.aurora_cluster)).
author:
  - notejam.aws maintainers (@notejam)
options:
  db_cluster_arn:
    description: ARN of the cluster.
    type: str
    required: true
  secret_arn:
    description: ARN of the secret holding the user name and password (the RDS-managed master secret).
    type: str
    required: true
  database:
    description: Database to run the statement in.
    type: str
  sql:
    description: The read-only statement.
    type: str
    required: true
  min_rows:
    description: Fail unless the statement returns at least this many rows.
    type: int
    default: 0
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Check the restored cluster answers with the app's data
  notejam.aws.aurora_query:
    db_cluster_arn: "{{ notejam_database.cluster_arn }}"
    secret_arn: "{{ notejam_database.secret_arn }}"
    database: notejam
    sql: SELECT COUNT(*) AS notes FROM notes
"""

RETURN = r"""
records:
  description: The rows, each a list of column values.
  returned: success
  type: list
  elements: list
row_count:
  description: Number of rows returned.
  returned: success
  type: int
"""

import re  # noqa: E402 - Ansible wants the documentation first

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.notejam.aws.plugins.module_utils.resource import retrying_client  # noqa: E402

READ_ONLY = re.compile(r"^\s*(select|show|describe|desc|explain)\b", re.IGNORECASE)


def cell(field):
    """The value of a Data API field ({"longValue": 3} -> 3; {"isNull": true} -> None)."""
    if field.get("isNull"):
        return None
    for value in field.values():
        return value
    return None


def main():
    module = AnsibleAWSModule(
        argument_spec={
            "db_cluster_arn": {"type": "str", "required": True},
            "secret_arn": {"type": "str", "required": True, "no_log": False},
            "database": {"type": "str"},
            "sql": {"type": "str", "required": True},
            "min_rows": {"type": "int", "default": 0},
        },
        supports_check_mode=True,
    )
    p = module.params
    if not READ_ONLY.match(p["sql"]) or ";" in p["sql"].strip().rstrip(";"):
        module.fail_json(msg="sql must be one read-only statement (SELECT, SHOW, DESCRIBE or EXPLAIN)")
    client = retrying_client(module, "rds-data", extra_retry_codes=["StatementTimeoutException"])
    params = {"resourceArn": p["db_cluster_arn"], "secretArn": p["secret_arn"], "sql": p["sql"]}
    if p["database"]:
        params["database"] = p["database"]
    try:
        response = client.execute_statement(**params)
    except Exception as e:  # noqa: BLE001 - reported with AWS's own message
        module.fail_json_aws(e, msg=f"The check query failed on {p['db_cluster_arn']}")
    records = [[cell(field) for field in row] for row in response.get("records", [])]
    if len(records) < p["min_rows"]:
        module.fail_json(
            msg=f"The check query returned {len(records)} rows, fewer than min_rows={p['min_rows']}"
        )
    module.exit_json(changed=False, records=records, row_count=len(records))


if __name__ == "__main__":
    main()
