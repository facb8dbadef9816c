"""What a change does to a run's record: the pure bookkeeping, without SQLite."""

from __future__ import annotations

import os
import random
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rodrunner.errors import IllegalTransitionError
from rodrunner.ledger.records import (
    MAX_BACKOFF,
    OPERATOR,
    RunRecord,
    Transition,
    backoff_seconds,
    id_note,
    lookup_keys,
    new_record,
    operator_retry,
    retry_at,
    transition,
)
from rodrunner.ledger.states import ALLOWED_TRANSITIONS, RETRYABLE_BY_OPERATOR, RunState

S = RunState
RUN = "/seq/miseq/240101_M00001_0001_000000000-ABCDE"


def seen(now: float = 10.0) -> RunRecord:
    """A record just observed at ``now``."""
    return new_record(RUN, "r1", "miseq", now)[0]


def walk(record: RunRecord, *states: RunState, now: float = 20.0) -> RunRecord:
    """``record`` moved through ``states`` in order."""
    for state in states:
        record, _ = transition(record, state, now=now)
    return record


def test_a_new_record_is_seen_with_a_first_history_row() -> None:
    """A folder seen for the first time: seen, no attempts, created and updated now."""
    record, step = new_record(RUN, "r1", "miseq", 10.0)
    assert (record.state, record.attempts, record.created_at, record.updated_at) == (
        S.SEEN,
        0,
        10.0,
        10.0,
    )
    assert not record.forced
    assert step == Transition(None, S.SEEN, 10.0, None)


def test_a_transition_keeps_what_is_not_given_and_replaces_what_is() -> None:
    """Values given replace the stored ones, None keeps them; the history row says from, to,
    when and why; the creation time stays."""
    queued, step = transition(
        seen(), S.QUEUED, now=30.0, completion_key="k1", trigger_mtime=5.0, forced=True
    )
    assert step == Transition(S.SEEN, S.QUEUED, 30.0, None)
    submitted, _ = transition(queued, S.SUBMITTED, now=31.0, flow_run_id="fr-1")
    assert (submitted.completion_key, submitted.trigger_mtime, submitted.forced) == (
        "k1",
        5.0,
        True,
    )
    assert (submitted.flow_run_id, submitted.created_at, submitted.updated_at) == (
        "fr-1",
        10.0,
        31.0,
    )


def test_attempts_count_failures_and_the_success_and_reset_on_a_new_completion() -> None:
    """Entering failed counts one attempt (failed -> failed does not); ingested from running
    counts the attempt that succeeded; leaving ingested resets the count."""
    failed, step = transition(walk(seen(), S.QUEUED, S.SUBMITTED), S.FAILED, now=40.0, error="x")
    assert (failed.attempts, failed.last_error, step.error) == (1, "x", "x")
    again, _ = transition(failed, S.FAILED, now=41.0, next_attempt_at=99.0)
    assert (again.attempts, again.next_attempt_at, again.last_error) == (1, 99.0, "x")
    requeued = walk(again, S.QUEUED)
    assert (requeued.next_attempt_at, requeued.last_error) == (None, "x")
    done = walk(requeued, S.SUBMITTED, S.RUNNING, S.INGESTED)
    assert (done.attempts, done.last_error, done.forced) == (2, None, False)
    assert walk(done, S.QUEUED).attempts == 0


def test_submission_renames_the_run_to_its_metadata_id_with_a_history_note() -> None:
    """A run id given at submission replaces discovery's; the history row names both ids, the
    record's last error is left alone, and the same id again writes no note."""
    failed, _ = transition(walk(seen(), S.QUEUED, S.SUBMITTED), S.FAILED, now=2.0, error="boom")
    queued = walk(failed, S.QUEUED)
    submitted, step = transition(queued, S.SUBMITTED, now=3.0, run_id="240101_M00001")
    assert (submitted.run_id, submitted.last_error) == ("240101_M00001", "boom")
    assert step == Transition(S.QUEUED, S.SUBMITTED, 3.0, id_note("r1", "240101_M00001"))
    assert step.error == "run id '240101_M00001' from the run's metadata (was 'r1')"
    requeued = walk(submitted, S.QUEUED)
    again, step = transition(requeued, S.SUBMITTED, now=4.0, run_id="240101_M00001")
    assert (again.run_id, step.error) == ("240101_M00001", None)
    kept, _ = transition(again, S.RUNNING, now=5.0)
    assert kept.run_id == "240101_M00001"


def test_skipped_clears_the_error_and_the_force() -> None:
    """A skip file forgets why the run waited and that it was forced."""
    forced, _ = transition(seen(), S.QUEUED, now=1.0, forced=True)
    failed, _ = transition(walk(forced, S.SUBMITTED), S.FAILED, now=2.0, error="boom")
    skipped = walk(failed, S.SKIPPED)
    assert (skipped.last_error, skipped.forced) == (None, False)


@pytest.mark.parametrize("from_state", list(S))
@pytest.mark.parametrize("to_state", list(S))
def test_only_the_table_decides_what_is_allowed(from_state: S, to_state: S) -> None:
    """Every pair of states is allowed exactly when the table says so; a refusal names both."""
    current = replace(seen(), state=from_state)
    if to_state in ALLOWED_TRANSITIONS[from_state]:
        assert transition(current, to_state, now=1.0)[0].state is to_state
    else:
        with pytest.raises(IllegalTransitionError) as caught:
            transition(current, to_state, now=1.0)
        assert (caught.value.from_state, caught.value.to_state) == (from_state, to_state)


@pytest.mark.parametrize("state", list(S))
def test_the_operator_retry_requeues_only_resting_runs(state: S) -> None:
    """A retryable run goes to queued with attempts and backoff reset and an 'operator' row;
    any other is refused naming its state and what can be retried."""
    current = replace(seen(), state=state, attempts=3, next_attempt_at=5.0, last_error="e")
    if state in RETRYABLE_BY_OPERATOR:
        record, step = operator_retry(current, now=50.0)
        assert (record.state, record.attempts, record.next_attempt_at) == (S.QUEUED, 0, None)
        assert record.last_error == "e"
        assert step == Transition(state, S.QUEUED, 50.0, OPERATOR)
    else:
        with pytest.raises(IllegalTransitionError, match=f"'{state.value}'.*can be retried"):
            operator_retry(current, now=50.0)


@given(attempts=st.integers(min_value=0, max_value=200), base=st.floats(0.1, 60.0))
def test_backoff_doubles_is_capped_and_jittered_by_ten_percent(attempts: int, base: float) -> None:
    """base * 2^(n-1), never over MAX_BACKOFF, within +-10 %."""
    delay = backoff_seconds(attempts, base, rng=random.Random(attempts))
    expected = min(base * 2.0 ** max(attempts - 1, 0), MAX_BACKOFF)
    assert expected * 0.9 <= delay <= expected * 1.1


def test_retry_at_is_none_once_the_attempts_are_used_up() -> None:
    """A failed run with attempts left is tried again after the backoff; at max, never."""
    failed = replace(seen(), state=S.FAILED, attempts=2)
    at = retry_at(failed, now=1000.0, base=10.0, max_attempts=3, rng=random.Random(1))
    assert at is not None
    assert 1000.0 + 18.0 <= at <= 1000.0 + 22.0
    assert retry_at(failed, now=1000.0, base=10.0, max_attempts=2) is None


def test_lookup_keys_resolve_only_paths() -> None:
    """A bare name is looked up as given; a path also as its absolute, normalised form."""
    assert lookup_keys("240101_RUN") == ("240101_RUN",)
    assert lookup_keys("/seq//miseq/RUN/") == ("/seq//miseq/RUN/", "/seq/miseq/RUN")
    assert lookup_keys("/seq/miseq/RUN") == ("/seq/miseq/RUN",)
    assert lookup_keys(f"miseq{os.sep}RUN")[-1] == os.path.join(os.getcwd(), "miseq", "RUN")
