"""Print the lock table and the environment's lock item as JSON: read_state.py REGION TABLE NAME."""

import json
import sys

import boto3

region, table, name = sys.argv[1:4]
ddb = boto3.client("dynamodb", region_name=region)
described = ddb.describe_table(TableName=table)["Table"]
ttl = ddb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
item = ddb.get_item(TableName=table, Key={"lock_id": {"S": name}}, ConsistentRead=True).get("Item")
tags = ddb.list_tags_of_resource(ResourceArn=described["TableArn"]).get("Tags", [])
print(
    json.dumps(
        {
            "billing_mode": described.get("BillingModeSummary", {}).get("BillingMode"),
            "key": described["KeySchema"],
            "ttl": ttl,
            "tags": {t["Key"]: t["Value"] for t in tags},
            "item": {k: next(iter(v.values())) for k, v in item.items()} if item else None,
        }
    )
)
