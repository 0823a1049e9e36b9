"""The completion rule, for every schedule hypothesis can think of."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.registration.domain import completion_date, meets_completion_rule

days = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))
schedules = st.lists(days, min_size=1, max_size=13, unique=True)


@st.composite
def course_and_attendance(draw: st.DrawFn) -> tuple[list[date], int, list[date]]:
    sessions = draw(schedules)
    min_sessions = draw(st.integers(min_value=1, max_value=len(sessions)))
    attended = draw(st.lists(st.sampled_from(sessions) | days, max_size=20))
    return sessions, min_sessions, attended


@given(course_and_attendance())
def test_an_enrolment_completes_exactly_when_it_attended_enough_distinct_sessions(
    case: tuple[list[date], int, list[date]],
) -> None:
    sessions, min_sessions, attended = case
    distinct = len(set(attended) & set(sessions))
    assert meets_completion_rule(attended, sessions, min_sessions) == (distinct >= min_sessions)


@given(course_and_attendance())
def test_repeating_an_attendance_never_changes_the_outcome(
    case: tuple[list[date], int, list[date]],
) -> None:
    sessions, min_sessions, attended = case
    assert meets_completion_rule(attended * 2, sessions, min_sessions) == meets_completion_rule(
        attended, sessions, min_sessions
    )


@given(course_and_attendance(), st.data())
def test_more_attendance_never_undoes_a_completion(
    case: tuple[list[date], int, list[date]], data: st.DataObject
) -> None:
    sessions, min_sessions, attended = case
    extra = data.draw(st.lists(st.sampled_from(sessions)))
    if meets_completion_rule(attended, sessions, min_sessions):
        assert meets_completion_rule(attended + extra, sessions, min_sessions)


@given(schedules)
def test_attending_every_session_completes_any_valid_course(sessions: list[date]) -> None:
    for min_sessions in range(1, len(sessions) + 1):
        assert meets_completion_rule(sessions, sessions, min_sessions)


@given(schedules)
def test_days_outside_the_course_never_count(sessions: list[date]) -> None:
    outside = [max(sessions) + timedelta(days=i) for i in range(1, 20)]
    assert not meets_completion_rule(outside, sessions, 1)


@given(st.lists(days, min_size=1))
def test_the_completion_date_is_the_last_day_attended_in_any_order(attended: list[date]) -> None:
    assert completion_date(attended) == max(attended)
    assert completion_date(list(reversed(attended))) == max(attended)
