"""aurora_query: one read-only statement through the Data API, rows back, never a change;
anything else refused before any call."""

import pytest
from ansible_collections.notejam.aws.plugins.modules.aurora_query import main

ARGS = {
    "db_cluster_arn": "arn:aws:rds:us-east-1:123456789012:cluster:notejam-test-aurora",
    "secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-x",
    "database": "notejam",
    "sql": "SELECT COUNT(*) FROM notes",
}


def queue_answer(rows):
    import json

    import requests

    requests.post(
        "http://motoapi.amazonaws.com/moto-api/static/rds-data/statement-results",
        data=json.dumps({"results": [{"records": rows}]}),
        timeout=10,
    )


def test_rows_come_back_as_plain_values_and_nothing_changes(aws, run_module, api_calls):
    queue_answer([[{"longValue": 3}], [{"isNull": True}]])
    result = run_module(main, ARGS)
    assert result["changed"] is False
    assert result["records"] == [[3], [None]]
    assert result["row_count"] == 2
    assert api_calls == ["ExecuteStatement"]


def test_runs_in_check_mode_too(aws, run_module, api_calls):
    result = run_module(main, ARGS, check=True)
    assert result["changed"] is False and api_calls == ["ExecuteStatement"]


def test_too_few_rows_fails(aws, run_module):
    result = run_module(main, dict(ARGS, min_rows=1))
    assert result["failed"] is True and "min_rows=1" in result["msg"]


@pytest.mark.parametrize(
    "sql", ["DELETE FROM notes", "UPDATE notes SET text = ''", "SELECT 1; DROP TABLE notes", "  drop table x"]
)
def test_anything_but_one_read_only_statement_is_refused_before_any_call(aws, run_module, api_calls, sql):
    result = run_module(main, dict(ARGS, sql=sql))
    assert result["failed"] is True and "read-only" in result["msg"]
    assert api_calls == []
