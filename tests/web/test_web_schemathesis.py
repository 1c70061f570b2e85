"""Schemathesis over ``/openapi.json``: generated requests to every operation, as a
signed-in user, and not one server error.  Nothing leaves the machine: the core's HTTP
client answers every fetch itself (a source someone adds is "not found")."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.feedserver import FeedServer
from tests.web.support import harness, offline


@pytest.mark.slow
def test_no_server_errors(web_db: str, feed_server: FeedServer) -> None:
    from hypothesis import given

    with harness(web_db, feed_server, fetcher_factory=offline) as h:
        auth = {"Authorization": f"Bearer {h.token('alice')}"}
        schema = schemathesis.openapi.from_asgi("/openapi.json", h.app)
        failures: list[str] = []
        statuses: list[int] = []
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 25

        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(
                max_examples=12,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                database=None,
            )
            def run(case: Any) -> None:
                response = case.call(headers=auth)
                statuses.append(response.status_code)
                if response.status_code >= 500:
                    failures.append(
                        f"{case.method} {case.formatted_path} {case.query}: "
                        f"{response.status_code} {response.text[:300]}"
                    )

            run()
        assert failures == []
        # It did exercise the API: many requests, and some got through validation.
        assert len(statuses) >= 150 and sum(s < 300 for s in statuses) >= 30, statuses
