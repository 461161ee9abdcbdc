"""200 concurrent acquisitions of public addresses on a nearly full range never give an
address twice; the calls that find none left get a clear 533 (issue 6, "Speed and
safety"). Threads each with their own session and transaction take addresses with the
conditional UPDATE of :mod:`cumulo.network.ipam.addresses` (SQLite, and MariaDB with
``CUMULO_TEST_DB``), as the placement concurrency tests do for hosts."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from network_world import advanced_zone
from sqlalchemy import func, select, update

from cumulo.db.engine import create_engine, session_factory
from cumulo.infra.models import IpState, UserIpAddress, VlanIpRange, VlanType, Zone
from cumulo.network.ipam.addresses import take_public_ip
from cumulo.runtime import Runtime
from cumulo.sdk.errors import InsufficientCapacity

pytest.importorskip("cumulo_simulator")

CALLS = 200
THREADS = 20
FREE = 7
"""Addresses left free in the zone's public range (the rest are taken beforehand)."""
ACCOUNTS = (2, 3)  # admin and system; any account ids of the seeded cloud


def test_concurrent_acquisitions_never_give_an_address_twice(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUMULO_SIMULATOR_STATE", str(tmp_path / "simulator.sqlite"))
    zone_uuid = advanced_zone(runtime, tmp_path / "data")
    with runtime.sessions.begin() as session:
        zone_id = session.scalars(select(Zone.id).where(Zone.uuid == zone_uuid)).one()
        public = (
            select(UserIpAddress.id)
            .join(VlanIpRange, VlanIpRange.id == UserIpAddress.vlan_db_id)
            .where(VlanIpRange.vlan_type == VlanType.VIRTUAL_NETWORK.value)
        )
        ids = sorted(session.scalars(public))
        # Nearly full: every address but FREE of them is someone's already.
        session.execute(
            update(UserIpAddress)
            .where(UserIpAddress.id.in_(ids[FREE:]))
            .values(state=IpState.ALLOCATED.value, account_id=1, domain_id=1)
        )
    engine = create_engine(
        str(runtime.engine.url.render_as_string(hide_password=False)), pool_size=THREADS
    )
    sessions = session_factory(engine)
    taken: list[str] = []
    refused: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def worker(index: int) -> None:
        start.wait()
        for call in range(CALLS // THREADS):
            account = ACCOUNTS[(index + call) % len(ACCOUNTS)]
            try:
                with sessions.begin() as session:
                    got = take_public_ip(
                        session, zone_id=zone_id, account_id=account, domain_id=1, network_id=None
                    )
                with lock:
                    taken.append(got.address)
            except InsufficientCapacity as exc:
                with lock:
                    refused.append(f"{exc.errorcode}: {exc.errortext}")
            except BaseException as exc:  # reported below
                with lock:
                    errors.append(exc)

    try:
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors[:3]
        assert len(taken) == FREE and len(set(taken)) == FREE
        assert len(refused) == CALLS - FREE
        assert all(text.startswith("533: Insufficient address capacity") for text in refused)
        with sessions() as session:
            free = session.scalar(
                select(func.count()).where(
                    UserIpAddress.id.in_(ids), UserIpAddress.state == IpState.FREE.value
                )
            )
            owned = session.scalars(
                select(UserIpAddress.public_ip_address).where(
                    UserIpAddress.id.in_(ids[:FREE]),
                    UserIpAddress.state == IpState.ALLOCATED.value,
                )
            ).all()
        assert free == 0 and sorted(owned) == sorted(taken)
    finally:
        engine.dispose()
