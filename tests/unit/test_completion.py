from datetime import date

import pytest

from services.registration.domain import (
    Status,
    can_move,
    completion_date,
    meets_completion_rule,
    schedule_problem,
)

SESSIONS = [date(2002, 9, 10), date(2002, 9, 11)]


def test_attending_every_session_of_a_two_day_module_completes_it() -> None:
    assert meets_completion_rule(SESSIONS, SESSIONS, min_sessions=2)


def test_attending_one_of_two_required_sessions_does_not_complete() -> None:
    assert not meets_completion_rule([SESSIONS[0]], SESSIONS, min_sessions=2)


def test_the_same_session_counted_twice_is_still_one_session() -> None:
    assert not meets_completion_rule([SESSIONS[0], SESSIONS[0]], SESSIONS, min_sessions=2)


def test_dates_outside_the_course_do_not_count() -> None:
    assert not meets_completion_rule([SESSIONS[0], date(2002, 9, 12)], SESSIONS, min_sessions=2)


def test_three_of_four_seminars_complete_a_course_that_asks_for_three() -> None:
    seminars = [date(2024, 3, d) for d in (4, 11, 18, 25)]
    assert meets_completion_rule(seminars[:3], seminars, min_sessions=3)
    assert not meets_completion_rule(seminars[:2], seminars, min_sessions=3)


def test_completion_date_is_the_last_session_attended() -> None:
    assert completion_date(SESSIONS) == date(2002, 9, 11)


@pytest.mark.parametrize(
    ("sessions", "min_sessions", "problem"),
    [
        ([], 1, "at least one session"),
        (SESSIONS, 0, "between 1 and the number of sessions (2)"),
        (SESSIONS, 3, "between 1 and the number of sessions (2)"),
        ([SESSIONS[0], SESSIONS[0]], 1, "must not repeat"),
    ],
)
def test_impossible_schedules_are_explained(
    sessions: list[date], min_sessions: int, problem: str
) -> None:
    found = schedule_problem(sessions, min_sessions)
    assert found is not None and problem in found


def test_a_sound_schedule_has_no_problem() -> None:
    assert schedule_problem(SESSIONS, 2) is None


def test_status_only_moves_forward_along_the_main_line() -> None:
    assert can_move(Status.ENROLLED, Status.COMPLETED)
    assert can_move(Status.COMPLETED, Status.NOTIFIED), "an email may be reported first"
    assert not can_move(Status.NOTIFIED, Status.CERTIFIED), "a late event never moves back"
    assert not can_move(Status.COMPLETED, Status.COMPLETED)


def test_withdrawal_is_only_possible_before_completion() -> None:
    assert can_move(Status.ENROLLED, Status.WITHDRAWN)
    assert not can_move(Status.COMPLETED, Status.WITHDRAWN)
    assert not can_move(Status.WITHDRAWN, Status.COMPLETED)


def test_only_a_certified_enrolment_can_be_revoked() -> None:
    assert can_move(Status.NOTIFIED, Status.REVOKED)
    assert not can_move(Status.ENROLLED, Status.REVOKED)
