from pdekit.streaming.heartbeat import Heartbeat


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_liveness_counts_silent_intervals():
    clock = Clock()
    hb = Heartbeat(0.5, 3, clock=clock)
    assert hb.patience == 1.5 and not hb.due()
    clock.t = 0.6
    assert hb.due()
    hb.sent()
    assert not hb.due()
    clock.t = 1.5
    assert hb.peer_alive()
    clock.t = 1.6
    assert not hb.peer_alive() and abs(hb.silence() - 1.6) < 1e-12
    hb.heard()
    assert hb.peer_alive()
