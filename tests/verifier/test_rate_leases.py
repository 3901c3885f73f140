"""Leases of a rate limit's allowance (core.rate_leases): across real OS processes sharing one
Redis, no window admits more than its limit, and a refusal comes early by at most the lease another
process holds unspent."""

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from redis import Redis, ResponseError

from config.cache import ReusedClientRedisCache
from core.rate_leases import LEASE_MOST, LEASE_SHARE, allowance_leases, counts_by_lease
from tests.verifier.test_early_cache import needs_redis, on_private_redis, private_redis  # noqa: F401

# The private Redis server as the cache, emptied after each test.
pytestmark = [needs_redis, pytest.mark.usefixtures("on_private_redis")]

# Admits `asks` requests of one client window, starting at the same moment as the other process,
# and reports which were admitted; with `hold`, stops after the first and keeps the rest of its
# lease until told to exit.
HAMMER = """
import json, sys, time
import django
django.setup()
from config.cache import ReusedClientRedisCache
from core.rate_leases import allowance_leases
key, hold = sys.argv[1], sys.argv[5]
limit, asks, start_at = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
while time.time() < start_at:
    time.sleep(0.001)
admitted = [allowance_leases.admit(key, allowed=limit, seconds=600) for _ in range(asks)]
print(json.dumps(admitted), flush=True)
if hold == "hold":
    sys.stdin.readline()
"""


def hammer(key: str, *, limit: int, asks: int, start_at: float, hold: bool = False):
    redis_url = str(settings.CACHES["default"]["LOCATION"])
    return subprocess.Popen(
        [sys.executable, "-c", HAMMER, key, str(limit), str(asks), str(start_at), "hold" if hold else "go"],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "REDIS_URL": redis_url},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def admitted_by(process: subprocess.Popen) -> list[bool]:
    assert process.stdout is not None
    return json.loads(process.stdout.readline())


def admit(key: str, limit: int) -> bool:
    return allowance_leases.admit(key, allowed=limit, seconds=600)


def counter(key: str) -> int:
    return int(cache.get(key) or 0)


def test_two_processes_hammering_one_client_never_pass_the_limit():
    limit = 3_000
    start_at = time.time() + 3  # both processes set up by then
    processes = [hammer("client:hammered", limit=limit, asks=2_500, start_at=start_at) for _ in range(2)]
    results = [admitted_by(process) for process in processes]
    for process in processes:
        assert process.wait(timeout=60) == 0

    admitted_in_all = sum(sum(admitted) for admitted in results)
    # Every request of both was asked for in the same window; each took part.
    assert all(sum(admitted) > 0 for admitted in results)
    assert admitted_in_all <= limit
    assert counter("client:hammered") == limit
    # A process refused at its last ask holds nothing unspent (it asks Redis only once its lease is
    # spent); one admitted at its last ask holds at most one lease.
    still_leasing = sum(1 for admitted in results if admitted[-1])
    assert limit - admitted_in_all <= LEASE_MOST * still_leasing
    for admitted in results:
        if False in admitted:
            # Once refused, a process stays refused for the window.
            assert not any(admitted[admitted.index(False) :])


def test_a_refusal_comes_early_by_at_most_the_lease_another_process_holds():
    limit = 120
    holder = hammer("client:held", limit=limit, asks=1, start_at=0, hold=True)
    try:
        assert admitted_by(holder) == [True]
        held = counter("client:held") - 1
        admitted_here = 0
        while allowance_leases.admit("client:held", allowed=limit, seconds=600):
            admitted_here += 1
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=60)

    # The other process's first lease: a LEASE_SHARE-th of the limit, at most LEASE_MOST.
    assert held == min(LEASE_MOST, limit // LEASE_SHARE) - 1 == 6
    assert 1 + admitted_here == limit - held
    assert counter("client:held") == limit


def test_threads_of_one_process_share_its_one_lease(monkeypatch):
    take = ReusedClientRedisCache.take
    taking: list[int] = []  # the takes under way, as each began
    most_at_once = 0

    def slow_take(self: ReusedClientRedisCache, *args: Any, **kwargs: Any) -> tuple[int, int]:
        nonlocal most_at_once
        taking.append(1)
        most_at_once = max(most_at_once, len(taking))
        time.sleep(0.005)  # a slow round trip: the other threads run out of allowance meanwhile
        try:
            return take(self, *args, **kwargs)
        finally:
            taking.pop()

    monkeypatch.setattr(ReusedClientRedisCache, "take", slow_take)

    def asks(_: int) -> int:
        return sum(admit("client:threads", 1_000_000) for _ in range(200))

    with ThreadPoolExecutor(max_workers=8) as pool:
        admitted = sum(pool.map(asks, range(8)))

    # One lease taken at a time, and everything granted admitted but for what is left of it.
    assert most_at_once == 1
    assert admitted == 1_600
    assert 0 <= counter("client:threads") - admitted < LEASE_MOST


def test_leases_shrink_to_one_request_near_the_limit():
    assert counts_by_lease()
    limit = 2_000

    allowance_leases.admit("client:near", allowed=limit, seconds=600)
    far = counter("client:near")
    cache.incr("client:near", limit - far - 20)
    spent_far_lease = [admit("client:near", limit) for _ in range(far - 1)]
    after_the_far_lease = counter("client:near")
    near = [admit("client:near", limit) for _ in range(21)]

    assert far == LEASE_MOST
    # Spent from memory: Redis was not asked.
    assert all(spent_far_lease) and after_the_far_lease == limit - 20
    # 20 left: leases of one request each, then a refusal.
    assert near == [True] * 20 + [False]
    assert counter("client:near") == limit


def test_a_lease_dies_with_its_window():
    assert allowance_leases.admit("client:short", allowed=10_000, seconds=1)
    server = Redis.from_url(settings.CACHES["default"]["LOCATION"])
    lives_ms = server.pttl(cache.make_and_validate_key("client:short"))

    time.sleep(2.1)
    again = allowance_leases.admit("client:short", allowed=10_000, seconds=1)

    assert 0 < lives_ms <= 2_000
    # The old lease was not spent: a new one was taken from a new counter.
    assert again and counter("client:short") == LEASE_MOST


def test_a_child_process_takes_its_own_lease():
    assert allowance_leases.admit("client:forked", allowed=10_000, seconds=600)
    child = os.fork()
    if child == 0:
        admitted = allowance_leases.admit("client:forked", allowed=10_000, seconds=600)
        os._exit(0 if admitted else 1)
    _, status = os.waitpid(child, 0)

    assert os.waitstatus_to_exitcode(status) == 0
    # A lease copied into the child would have admitted it without asking Redis.
    assert counter("client:forked") == 2 * LEASE_MOST


def test_a_take_over_its_own_connection_reads_each_reply_whole():
    cache.set("not-a-number", "text")

    first = cache.take("client:raw", limit=100, timeout=5, most=LEASE_MOST, share=LEASE_SHARE)
    with pytest.raises(ResponseError):
        cache.take("not-a-number", limit=100, timeout=5, most=LEASE_MOST, share=LEASE_SHARE)
    after_the_error = cache.take("client:raw", limit=100, timeout=5, most=LEASE_MOST, share=LEASE_SHARE)
    refused = cache.take("client:full", limit=0, timeout=5, most=LEASE_MOST, share=LEASE_SHARE)

    assert first[0] == 100 // LEASE_SHARE and 0 < first[1] <= 5_000
    # The error reply was read in full: the next take reads its own reply.
    assert after_the_error[0] == (100 - first[0]) // LEASE_SHARE
    assert cache.get("client:raw") == first[0] + after_the_error[0]
    assert refused == (0, -2)
