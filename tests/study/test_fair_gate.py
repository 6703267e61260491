"""The connection gate lets waiting threads in in arrival order, never more than its size."""

import threading
import time

from study.fair_gate import FairGate


def test_waiting_threads_get_in_in_arrival_order_one_at_a_time():
    gate = FairGate(1)
    entered, inside, most_inside = [], [0], [0]
    lock = threading.Lock()
    release = threading.Event()

    def holder():
        with gate:
            release.wait(10)

    def waiter(n):
        with gate:
            with lock:
                entered.append(n)
                inside[0] += 1
                most_inside[0] = max(most_inside[0], inside[0])
            time.sleep(0.01)
            with lock:
                inside[0] -= 1

    holders = [threading.Thread(target=holder)]
    for thread in holders:
        thread.start()
    while gate._free:  # the place is taken
        time.sleep(0.01)
    waiters = []
    for n in range(8):
        waiters.append(threading.Thread(target=waiter, args=(n,)))
        waiters[-1].start()
        while len(gate._waiting) < n + 1:  # queued before the next one arrives
            time.sleep(0.001)
    release.set()
    for thread in holders + waiters:
        thread.join(10)
    assert entered == list(range(8)), "first come, first served"
    assert most_inside[0] == 1
    assert gate._free == 1 and not gate._waiting
