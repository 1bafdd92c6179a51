"""Credit-based flow control in bytes: never more outstanding than granted."""

import pytest

from pdekit.streaming.credit import CreditLedger, CreditWindow


def test_window_limits_are_cumulative_and_idempotent():
    w = CreditWindow()
    assert not w.can_send(1)
    w.grant(100)
    w.spend(60)
    assert w.available == 40 and not w.can_send(41)
    w.grant(50)  # a stale, smaller limit changes nothing
    assert w.limit == 100
    with pytest.raises(RuntimeError, match="no credit for 41 bytes"):
        w.spend(41)


def test_ledger_grants_a_fair_window_within_the_available_bytes():
    led = CreditLedger(max_window=1000)
    led.open("a")
    led.open("b")
    budget = 4000  # window = 4000 // (4 * 2) = 500 per session
    assert led.top_up("a", available=10_000, budget=budget) == 500
    assert led.top_up("a", available=10_000, budget=budget) is None  # still has its window
    assert led.top_up("b", available=300, budget=budget) == 300     # only what is left
    assert led.outstanding == 800
    assert led.receive("a", 400)
    assert led.session("a").outstanding == 100
    assert led.top_up("a", available=10_000, budget=budget) == 900  # back to 500 outstanding
    assert not led.receive("b", 301)  # beyond its limit: a protocol violation
    assert led.close("a") == 500 and "a" not in led


def test_a_step_larger_than_the_window_waits_for_enough_credit():
    led = CreditLedger(max_window=100)
    led.open("a")
    assert led.top_up("a", available=50, budget=10_000) == 50
    led.want("a", 120)
    assert led.top_up("a", available=60, budget=10_000) is None  # 50 + 60 < 120: no partial grant
    assert led.top_up("a", available=70, budget=10_000) == 120
