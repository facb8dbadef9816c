"""Readiness decisions over discovery's RunEntry values and ledger records."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rodrunner.discovery import RunEntry
from rodrunner.ledger.records import RunRecord
from rodrunner.ledger.states import Action, RunState
from rodrunnerd.readiness import CLOCK_SKEW_SECONDS, completion_key, decide

NOW = 1_700_000_000.0
RUN = Path("/seq/novaseq/240101_A00001_0001_AHXXXXXXXX")


def entry(**changes: object) -> RunEntry:
    """A complete NovaSeq entry whose CopyComplete.txt was written 100 s before NOW."""
    base = RunEntry(
        run_dir=RUN,
        run_id=RUN.name,
        sequencer_type="novaseq",
        state="complete",
        reason="CopyComplete.txt present",
        indicator=RUN / "CopyComplete.txt",
        indicator_mtime=NOW - 100,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def record(state: RunState, trigger_mtime: float | None = None) -> RunRecord:
    """A ledger record of RUN in ``state``."""
    return RunRecord(
        run_dir=str(RUN),
        run_id=RUN.name,
        sequencer_type="novaseq",
        state=state,
        attempts=0,
        last_error=None,
        flow_run_id=None,
        completion_key=None,
        trigger_mtime=trigger_mtime,
        next_attempt_at=None,
        created_at=NOW - 1000,
        updated_at=NOW - 1000,
    )


def test_complete_and_quiet_is_submitted() -> None:
    """A complete run whose top level has been quiet for settle_seconds is submitted."""
    decision = decide(entry(), newest_mtime=NOW - 100, now=NOW, settle_seconds=60)
    assert decision.action is Action.SUBMIT
    assert decision.next_state is RunState.QUEUED
    assert decision.completion_key == completion_key(RUN, NOW - 100, None)
    assert not decision.forced


def test_recent_change_settles_until_quiet() -> None:
    """A complete run with a top-level change 10 s ago settles until 60 s after that change."""
    decision = decide(entry(), newest_mtime=NOW - 10, now=NOW, settle_seconds=60)
    assert decision.action is Action.SETTLE
    assert decision.recheck_at == NOW + 50
    assert decision.next_state is RunState.SETTLING


def test_in_progress_waits() -> None:
    """A NovaSeq run with only RTAComplete.txt (rule not met, no indicator) waits."""
    waiting = entry(
        state="in_progress", reason="waiting for CopyComplete.txt", indicator=None,
        indicator_mtime=None,
    )  # fmt: skip
    decision = decide(waiting, newest_mtime=NOW - 1000, now=NOW, settle_seconds=0)
    assert decision.action is Action.WAIT
    assert decision.next_state is RunState.SEEN
    assert "CopyComplete.txt" in decision.reason


@pytest.mark.parametrize(
    "reason",
    [
        "CopyComplete.txt is a directory, not a completion file; waiting for CopyComplete.txt",
        "RunUploaded.json has outcome='OutcomeFailed', not 'OutcomeCompleted'",
    ],
)
def test_untrusted_indicator_is_a_problem(reason: str) -> None:
    """An indicator that exists but is not trusted is reported with discovery's reason."""
    bad = entry(state="in_progress", reason=reason)
    decision = decide(bad, newest_mtime=NOW - 1000, now=NOW, settle_seconds=0)
    assert decision.action is Action.PROBLEM
    assert decision.reason == reason
    assert decision.next_state is None


def test_future_mtime_is_a_problem_with_recheck() -> None:
    """A top-level mtime an hour in the future is reported, re-checked when it is reachable."""
    future = NOW + 3600
    decision = decide(entry(), newest_mtime=future, now=NOW, settle_seconds=60)
    assert decision.action is Action.PROBLEM
    assert "future" in decision.reason
    assert decision.recheck_at == future - CLOCK_SKEW_SECONDS


def test_skip_file_wins_once() -> None:
    """The skip file gives skip, then nothing once the ledger records it."""
    skipped = entry(state="skipped", reason=".rodrunner-skip present: never ingested")
    assert decide(skipped, newest_mtime=NOW, now=NOW, settle_seconds=0).action is Action.SKIP
    again = decide(
        skipped, newest_mtime=NOW, now=NOW, settle_seconds=0, record=record(RunState.SKIPPED)
    )
    assert again.action is Action.NOTHING


def test_skip_file_while_in_flight_does_not_interrupt() -> None:
    """A skip file dropped into a running ingest does not produce a decision."""
    skipped = entry(state="skipped", reason="skip")
    decision = decide(
        skipped, newest_mtime=NOW, now=NOW, settle_seconds=0, record=record(RunState.RUNNING)
    )
    assert decision.action is Action.NOTHING


@pytest.mark.parametrize("state", [RunState.QUEUED, RunState.SUBMITTED, RunState.RUNNING])
def test_in_flight_runs_are_left_alone(state: RunState) -> None:
    """A run the daemon already owns is not submitted twice."""
    decision = decide(
        entry(), newest_mtime=NOW - 100, now=NOW, settle_seconds=0, record=record(state)
    )
    assert decision.action is Action.NOTHING


@pytest.mark.parametrize("state", [RunState.INGESTED, RunState.FAILED, RunState.CONFLICT])
def test_resting_runs_are_not_resubmitted(state: RunState) -> None:
    """An ingested, failed or conflicting run is not submitted again by the rule alone."""
    decision = decide(
        entry(), newest_mtime=NOW - 100, now=NOW, settle_seconds=0, record=record(state)
    )
    assert decision.action is Action.NOTHING


def test_trigger_forces_an_incomplete_run_now() -> None:
    """A new trigger file submits at once, without the rule and without settling."""
    forced = entry(
        reason="forced by .rodrunner-ingest (waiting for CopyComplete.txt)",
        indicator=RUN / ".rodrunner-ingest", indicator_mtime=NOW - 1, forced=True,
        trigger_mtime=NOW - 1,
    )  # fmt: skip
    decision = decide(forced, newest_mtime=NOW - 1, now=NOW, settle_seconds=600)
    assert decision.action is Action.SUBMIT
    assert decision.forced
    assert decision.trigger_mtime == NOW - 1


def test_newer_trigger_reingests_an_ingested_run() -> None:
    """A trigger newer than the one handled submits an ingested run again, with a new key."""
    handled = NOW - 500
    old = entry(forced=True, trigger_mtime=handled)
    done = record(RunState.INGESTED, trigger_mtime=handled)
    assert decide(old, newest_mtime=handled, now=NOW, settle_seconds=0, record=done).action is (
        Action.NOTHING
    )
    newer = entry(forced=True, trigger_mtime=NOW - 5)
    decision = decide(newer, newest_mtime=NOW - 5, now=NOW, settle_seconds=0, record=done)
    assert decision.action is Action.SUBMIT
    assert decision.completion_key != completion_key(RUN, NOW - 100, handled)


def test_not_a_run_is_ignored() -> None:
    """Entries discovery says are not runs lead to nothing."""
    other = entry(state="not_a_run", reason="hidden entry")
    assert decide(other, newest_mtime=None, now=NOW, settle_seconds=0).action is Action.NOTHING


def test_completion_key_is_stable_and_distinct() -> None:
    """The key depends on the folder and both mtimes, and on nothing else."""
    key = completion_key("/seq/a", 1.5, None)
    assert key == completion_key(Path("/seq/a"), 1.5, None)
    assert len(key) == 64
    assert key != completion_key("/seq/b", 1.5, None)
    assert key != completion_key("/seq/a", 1.500001, None)
    assert key != completion_key("/seq/a", 1.5, 2.0)


times = st.floats(min_value=0, max_value=4e9, allow_nan=False)


@given(
    indicator=times,
    newest=st.one_of(st.none(), times),
    now=times,
    settle=st.floats(min_value=0, max_value=86400, allow_nan=False),
)
def test_complete_runs_submit_exactly_when_quiet(
    indicator: float, newest: float | None, now: float, settle: float
) -> None:
    """For any times: submit iff quiet for settle_seconds, settle with a future recheck, or a
    future-mtime problem; never anything else for a complete run."""
    decision = decide(
        entry(indicator_mtime=indicator), newest_mtime=newest, now=now, settle_seconds=settle
    )
    latest = max(indicator, newest if newest is not None else 0.0)
    if latest > now + CLOCK_SKEW_SECONDS:
        assert decision.action is Action.PROBLEM
        assert decision.recheck_at is not None
        assert decision.recheck_at > now
    elif now >= latest + settle:
        assert decision.action is Action.SUBMIT
        assert decision.completion_key == completion_key(RUN, indicator, None)
    else:
        assert decision.action is Action.SETTLE
        assert decision.recheck_at is not None
        assert now < decision.recheck_at <= now + settle + CLOCK_SKEW_SECONDS


@given(
    trigger=times,
    handled=st.one_of(st.none(), times),
    state=st.sampled_from(list(RunState)),
)
def test_trigger_submits_only_when_newer_and_not_in_flight(
    trigger: float, handled: float | None, state: RunState
) -> None:
    """A trigger file submits exactly when it is newer than the handled one and the run is
    not already queued, submitted or running."""
    now = 4e9
    forced = entry(forced=True, trigger_mtime=trigger, indicator_mtime=trigger)
    decision = decide(
        forced, newest_mtime=trigger, now=now, settle_seconds=1e9, record=record(state, handled)
    )
    newer = handled is None or trigger > handled
    in_flight = state in (RunState.QUEUED, RunState.SUBMITTED, RunState.RUNNING)
    assert (decision.action is Action.SUBMIT and decision.forced) == (newer and not in_flight)
