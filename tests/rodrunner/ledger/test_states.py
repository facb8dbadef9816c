"""The run states and the one table of which state a readiness action leads to."""

from __future__ import annotations

import pytest

from rodrunner.ledger.states import (
    ALLOWED_TRANSITIONS,
    STATE_OF_ACTION,
    Action,
    RunState,
    state_after,
)


def test_every_state_has_a_row_and_no_dead_state() -> None:
    """Every state has a row in the table and can be entered (no state is never written)."""
    assert set(ALLOWED_TRANSITIONS) == set(RunState)
    assert set().union(*ALLOWED_TRANSITIONS.values()) == set(RunState)
    assert "incomplete" not in {s.value for s in RunState}


def test_each_state_changing_action_leads_to_one_state() -> None:
    """wait, settle, submit and skip lead to seen, settling, queued and skipped; nothing and
    problem leave the state alone."""
    assert dict(STATE_OF_ACTION) == {
        Action.WAIT: RunState.SEEN,
        Action.SETTLE: RunState.SETTLING,
        Action.SUBMIT: RunState.QUEUED,
        Action.SKIP: RunState.SKIPPED,
    }


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("current", list(RunState))
def test_state_after_skips_a_self_move_the_table_does_not_allow(
    action: Action, current: RunState
) -> None:
    """The target of an action, except a move to the same state without a self-transition
    (waiting while seen), which leaves the record alone."""
    target = STATE_OF_ACTION.get(action)
    after = state_after(action, current)
    if target is None or (target is current and target not in ALLOWED_TRANSITIONS[current]):
        assert after is None
    else:
        assert after is target
    if action is Action.SETTLE and current is RunState.SETTLING:
        assert after is RunState.SETTLING  # settling again refreshes the record
