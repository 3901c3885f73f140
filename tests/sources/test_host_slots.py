"""The per-host fetch slots, in the database and in Redis: a host's slots are shared by every
holder, only a holder frees or extends its own, and a lapsed slot can be taken again."""

import uuid
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from sources.host_slots import DatabaseHostSlots, HostSlots, RedisHostSlots, redis_slot_key
from sources.models import HostFetchSlot

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["database", "redis"])
def slots(request) -> HostSlots:
    if request.param == "database":
        return DatabaseHostSlots()
    if not settings.REDIS_URL:
        pytest.skip("Redis is not configured (REDIS_URL)")
    return RedisHostSlots(settings.REDIS_URL)


def test_a_host_has_as_many_slots_as_allowed_and_each_is_freed_by_its_holder(slots, settings):
    settings.SOURCES_MAX_FETCHES_PER_HOST = 2
    now = timezone.now()
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert slots.acquire("a.example", first, now)
    assert slots.acquire("a.example", second, now)
    assert not slots.acquire("a.example", third, now)
    assert slots.acquire("b.example", third, now), "another host's slots are its own"

    slots.release(uuid.uuid4())  # a holder of nothing frees nothing
    assert not slots.acquire("a.example", uuid.uuid4(), now)
    slots.release(first)
    assert slots.acquire("a.example", uuid.uuid4(), now)


def test_a_lapsed_slot_is_taken_again(slots, settings):
    settings.SOURCES_MAX_FETCHES_PER_HOST = 1
    settings.SOURCES_FETCH_LEASE_SECONDS = 15
    dead = uuid.uuid4()
    if isinstance(slots, RedisHostSlots):
        # What Redis holds for a slot whose lease ran out: nothing, the key expired.
        assert slots.acquire("a.example", dead, timezone.now())
        redis.Redis.from_url(settings.REDIS_URL).delete(redis_slot_key("a.example", 0))
    else:
        HostFetchSlot.objects.create(
            host="a.example", slot=0, holder=dead, expires_at=timezone.now() - timedelta(seconds=1)
        )
    alive = uuid.uuid4()
    assert slots.acquire("a.example", alive, timezone.now())
    slots.renew(dead, timezone.now())  # the dead holder's late renewal does not take it back
    slots.release(dead)
    assert not slots.acquire("a.example", uuid.uuid4(), timezone.now()), "the live holder keeps it"


def test_redis_slots_expire_with_the_lease_and_renewal_extends_them(settings):
    if not settings.REDIS_URL:
        pytest.skip("Redis is not configured (REDIS_URL)")
    settings.SOURCES_FETCH_LEASE_SECONDS = 15
    slots = RedisHostSlots(settings.REDIS_URL)
    client = redis.Redis.from_url(settings.REDIS_URL)
    holder = uuid.uuid4()
    assert slots.acquire("a.example", holder, timezone.now())
    key = redis_slot_key("a.example", 0)
    client.pexpire(key, 1000)
    slots.renew(holder, timezone.now())
    assert 1000 < client.pttl(key) <= 15000
    slots.release(holder)
    assert not client.exists(key)
