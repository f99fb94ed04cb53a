"""CodeStar Connections: moto 5.2.5 has no backend at all; the stand-ins below serve the operations
the codepipeline role calls, shaped by botocore's ``codestar-connections`` model (2019-12-01) and the
AWS CodeStar Connections API reference
(https://docs.aws.amazon.com/codestar-connections/latest/APIReference/Welcome.html):

- CreateConnection (API_CreateConnection.html): a new connection is ``PENDING``, and stays so: AWS
  only makes it ``AVAILABLE`` after a person completes the handshake with the provider in the console
  ("A connection created through the AWS CLI or AWS CloudFormation is in PENDING status by default").
  The name is 1 to 32 characters; ``ProviderType`` is one of the model's enum (GitHub, Bitbucket, ...);
  HostArn is refused for the cloud providers' types. ARNs look like
  ``arn:aws:codestar-connections:<region>:<account>:connection/<uuid>``.
- GetConnection (API_GetConnection.html), ListConnections (API_ListConnections.html, ``MaxResults`` up
  to 100, ``NextToken`` paging, ``ProviderTypeFilter``), DeleteConnection (API_DeleteConnection.html):
  an unknown ARN answers ResourceNotFoundException.
- TagResource, UntagResource, ListTagsForResource (API_TagResource.html ...): tags as a list of
  ``{Key, Value}``; at most 50 per resource (LimitExceededException).

Nothing here makes a connection AVAILABLE on its own: the harness is never more lenient than AWS.
``approve(arn)`` (used by the tests standing in for the console step) does what the person would.
"""

import threading
import uuid

from moto.core import DEFAULT_ACCOUNT_ID

from tests.emulator.standins import StandinError

SERVICE = "codestar-connections"
_lock = threading.Lock()
# connection ARN -> {"Connection": {...}, "Tags": {key: value}}
_connections = {}

_PROVIDERS = ("Bitbucket", "GitHub", "GitHubEnterpriseServer", "GitLab", "GitLabSelfManaged")
_HOSTED = ("GitHubEnterpriseServer", "GitLabSelfManaged")
_MAX_TAGS = 50


def _tags_to_dict(tags):
    result = {}
    for tag in tags or []:
        if "Key" not in tag or "Value" not in tag:
            raise StandinError("ValidationException", "Each tag needs a Key and a Value")
        result[tag["Key"]] = tag["Value"]
    return result


def _get(arn):
    record = _connections.get(arn)
    if record is None:
        raise StandinError("ResourceNotFoundException", f"Connection {arn} does not exist")
    return record


def create_connection(call):
    params = call.params()
    name = params.get("ConnectionName") or ""
    provider = params.get("ProviderType")
    host = params.get("HostArn")
    if not 1 <= len(name) <= 32:
        raise StandinError("ValidationException", "ConnectionName must be 1 to 32 characters long")
    if host is None and provider not in _PROVIDERS:
        raise StandinError("ValidationException", f"ProviderType must be one of {', '.join(_PROVIDERS)}")
    if host is not None and provider not in (None, *_HOSTED):
        raise StandinError("ValidationException", f"HostArn is not accepted with ProviderType {provider}")
    tags = _tags_to_dict(params.get("Tags"))
    if len(tags) > _MAX_TAGS:
        raise StandinError("LimitExceededException", f"At most {_MAX_TAGS} tags per resource")
    arn = f"arn:aws:{SERVICE}:{call.region}:{DEFAULT_ACCOUNT_ID}:connection/{uuid.uuid4()}"
    connection = {
        "ConnectionName": name,
        "ConnectionArn": arn,
        "ProviderType": provider or "GitHubEnterpriseServer",
        "OwnerAccountId": DEFAULT_ACCOUNT_ID,
        "ConnectionStatus": "PENDING",
    }
    if host:
        connection["HostArn"] = host
    with _lock:
        _connections[arn] = {"Connection": connection, "Tags": tags, "Region": call.region}
    payload = {"ConnectionArn": arn}
    if tags:
        payload["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    return 200, payload


def get_connection(call):
    with _lock:
        return 200, {"Connection": dict(_get(call.params().get("ConnectionArn"))["Connection"])}


def list_connections(call):
    params = call.params()
    max_results = int(params.get("MaxResults") or 100)
    if not 0 <= max_results <= 100:
        raise StandinError("ValidationException", "MaxResults must be between 0 and 100")
    provider = params.get("ProviderTypeFilter")
    host = params.get("HostArnFilter")
    with _lock:
        found = [
            dict(r["Connection"])
            for r in _connections.values()
            if r["Region"] == call.region
            and (provider is None or r["Connection"]["ProviderType"] == provider)
            and (host is None or r["Connection"].get("HostArn") == host)
        ]
    start = int(params.get("NextToken") or 0)
    page = found[start : start + max_results]
    payload = {"Connections": page}
    if start + max_results < len(found):
        payload["NextToken"] = str(start + max_results)
    return 200, payload


def delete_connection(call):
    arn = call.params().get("ConnectionArn")
    with _lock:
        _get(arn)
        del _connections[arn]
    return 200, {}


def tag_resource(call):
    params = call.params()
    tags = _tags_to_dict(params.get("Tags"))
    with _lock:
        record = _get(params.get("ResourceArn"))
        merged = dict(record["Tags"], **tags)
        if len(merged) > _MAX_TAGS:
            raise StandinError("LimitExceededException", f"At most {_MAX_TAGS} tags per resource")
        record["Tags"] = merged
    return 200, {}


def untag_resource(call):
    params = call.params()
    with _lock:
        record = _get(params.get("ResourceArn"))
        for key in params.get("TagKeys") or []:
            record["Tags"].pop(key, None)
    return 200, {}


def list_tags_for_resource(call):
    with _lock:
        record = _get(call.params().get("ResourceArn"))
        return 200, {"Tags": [{"Key": k, "Value": v} for k, v in record["Tags"].items()]}


def approve(arn):
    """What the person does in the console (Developer Tools > Settings > Connections > Update pending
    connection): the connection becomes AVAILABLE. Tests only."""
    with _lock:
        _get(arn)["Connection"]["ConnectionStatus"] = "AVAILABLE"


def reset():
    with _lock:
        _connections.clear()


STANDINS = {
    (SERVICE, "CreateConnection"): create_connection,
    (SERVICE, "GetConnection"): get_connection,
    (SERVICE, "ListConnections"): list_connections,
    (SERVICE, "DeleteConnection"): delete_connection,
    (SERVICE, "TagResource"): tag_resource,
    (SERVICE, "UntagResource"): untag_resource,
    (SERVICE, "ListTagsForResource"): list_tags_for_resource,
}


def apply():
    """Nothing to patch in moto: the service is served by the stand-ins alone."""
