"""Retries of transient iRODS errors: a final failure says the retries are spent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from irods import exception as irods_exc

from rodrunner.errors import TransientIRODSError
from rodrunner.irods import retry
from rodrunner.irods.errors import translate


@pytest.fixture
def quick_retries() -> Iterator[None]:
    """Three attempts with millisecond waits."""
    previous = retry.get_policy()
    retry.set_policy(
        retry.RetryPolicy(attempts=3, max_seconds=30, initial_wait=0.001, max_wait=0.01)
    )
    try:
        yield
    finally:
        retry.set_policy(previous)


@pytest.mark.usefixtures("quick_retries")
def test_spent_retries_are_named_in_the_final_error() -> None:
    """After the last attempt the error says how many were made and promises no retry."""
    calls = []

    def down() -> None:
        calls.append(1)
        raise translate(irods_exc.NetworkException("connection reset"), "/tempZone/home/rods/x")

    with pytest.raises(TransientIRODSError) as caught:
        retry.call_with_retries(down, operation="put", path="/tempZone/home/rods/x")
    assert len(calls) == 3
    message = str(caught.value)
    assert message.endswith("gave up after 3 attempts")
    assert "retried" not in message
    assert caught.value.path == "/tempZone/home/rods/x"
    assert caught.value.name == "NetworkException"


def test_a_single_attempt_says_nothing_of_retries() -> None:
    """With retries off the error is the translated one, without a retry promise."""
    with retry.retries_disabled(), pytest.raises(TransientIRODSError) as caught:
        retry.call_with_retries(
            lambda: (_ for _ in ()).throw(translate(irods_exc.NetworkException("down"))),
            operation="put",
        )
    assert "retried" not in str(caught.value)
    assert "gave up" not in str(caught.value)
