"""The delivery tier's stand-ins through the server, as the AWS API references state them
(tests/emulator/fixes/codestar_connections.py, codebuild.py, ecr.py)."""

import pytest


@pytest.fixture
def client(emulator):
    def make(service):
        return emulator.client(service, "ap-south-1")

    return make


def test_new_connection_stays_pending_and_unknown_arn_is_not_found(client):
    client = client("codestar-connections")
    arn = client.create_connection(ProviderType="GitHub", ConnectionName="harness-gh")["ConnectionArn"]
    assert arn.startswith("arn:aws:codestar-connections:ap-south-1:")
    assert client.get_connection(ConnectionArn=arn)["Connection"]["ConnectionStatus"] == "PENDING"
    names = [c["ConnectionName"] for c in client.list_connections()["Connections"]]
    assert "harness-gh" in names
    client.delete_connection(ConnectionArn=arn)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_connection(ConnectionArn=arn)
    with pytest.raises(client.exceptions.ClientError):
        client.create_connection(ProviderType="GitHub", ConnectionName="x" * 33)


def test_update_project_of_unknown_project_is_not_found(client):
    client = client("codebuild")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.update_project(name="harness-missing", timeoutInMinutes=30)


def test_registry_replication_takes_several_rules_but_not_eleven(client):
    client = client("ecr")
    account = client.describe_registry()["registryId"]

    def rule(i):
        return {
            "destinations": [{"region": "eu-west-1", "registryId": account}],
            "repositoryFilters": [{"filter": f"repo-{i}", "filterType": "PREFIX_MATCH"}],
        }

    client.put_replication_configuration(replicationConfiguration={"rules": [rule(1), rule(2)]})
    assert len(client.describe_registry()["replicationConfiguration"]["rules"]) == 2
    with pytest.raises(client.exceptions.InvalidParameterException):
        client.put_replication_configuration(replicationConfiguration={"rules": [rule(i) for i in range(11)]})
    client.put_replication_configuration(replicationConfiguration={"rules": []})
