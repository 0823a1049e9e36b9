"""The chaos suite's own rules: its fault plan and how it judges certificate numbers."""

from __future__ import annotations

from chaos.audit import Audit, number_gaps
from chaos.cluster import INSTANCES
from chaos.faults import FULL, SHORT, Kind, plan


def test_the_same_seed_gives_the_same_plan_and_another_seed_another() -> None:
    instances = list(INSTANCES)
    assert plan(instances, FULL, 7) == plan(instances, FULL, 7)
    assert plan(instances, FULL, 7) != plan(instances, FULL, 8)


def test_every_kind_of_fault_strikes_within_the_window_in_time_order() -> None:
    faults = plan(list(INSTANCES), FULL, 2002)
    assert {f.kind for f in faults} == set(Kind)
    assert [f.at for f in faults] == sorted(f.at for f in faults)
    assert all(0 <= f.at <= FULL.window for f in faults)


def test_every_instance_is_killed_and_one_of_each_pair_stays_down_a_while() -> None:
    faults = plan(list(INSTANCES), FULL, 2002)
    kills = [f for f in faults if f.kind is Kind.KILL]
    assert {f.target for f in kills} == set(INSTANCES)
    long_ones = {f.target for f in kills if f.duration == FULL.scaled_out_down}
    assert long_ones == {"certification-2", "notification-2"}


def test_poison_comes_after_the_broker_restart_so_the_restart_cannot_lose_its_dead_letters() -> (
    None
):
    for seed in range(50):
        for scale in (FULL, SHORT):
            faults = plan(list(INSTANCES), scale, seed)
            [restart] = [f.at for f in faults if f.kind is Kind.BROKER_RESTART]
            poison = [f.at for f in faults if f.kind is Kind.POISON]
            assert len(poison) == scale.poison_waves
            assert min(poison) > restart


def test_numbers_used_twice_and_numbers_never_used_are_both_found() -> None:
    numbers = ["FRMS-2026-000001", "FRMS-2026-000002", "FRMS-2026-000002", "FRMS-2026-000005"]
    shared, skipped = number_gaps(numbers)
    assert shared == ["FRMS-2026-000002"]
    assert skipped == [3, 4]
    assert number_gaps([]) == ([], [])


def test_an_audit_fails_on_a_missing_email_even_when_every_certificate_is_there() -> None:
    audit = Audit(trainees=2, qualifying=2, certificates=2, emails=1, missing_emails=["t-2"])
    assert audit.lost == 1
    assert not audit.passed
    assert audit.problems() == ["no email: t-2"]
