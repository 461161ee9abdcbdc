"""The VM view's contract with the renderer: ``vm_fields`` returns
:class:`~cumulo.db.listing.Prepared` fields — no ``None`` anywhere, dates in 4.1's
form — so the renderer may pass a page of them through without walking it again."""

from __future__ import annotations

import datetime as dt

from cumulo.compute.listing import VM_COLUMNS, NicRow
from cumulo.compute.views import vm_fields
from cumulo.db.listing import Prepared
from cumulo.sdk.api import CallContext, format_date
from cumulo_api.render import prepare

CREATED = dt.datetime(2013, 4, 10, 16, 52, 6)


def _row(**values: object) -> tuple[object, ...]:
    base: dict[str, object] = dict.fromkeys(VM_COLUMNS)
    base.update(
        id=7, uuid="vm-7", name="web", state="Running", created=CREATED, ha_enabled=0,
        account_name="alice", domain_uuid="d-1", domain_name="ROOT", zone_uuid="z-1",
        zone_name="Demo", offering_uuid="o-1", offering_name="Small", cpu=1, speed=500,
        ram_size=512, instance_name="i-2-7-VM", password_enabled=None,
    )  # fmt: skip
    base.update(values)
    return tuple(base[name] for name in VM_COLUMNS)


def _no_none(value: object) -> bool:
    if isinstance(value, dict):
        return all(v is not None and _no_none(v) for v in value.values())
    if isinstance(value, list):
        return all(v is not None and _no_none(v) for v in value)
    return True


def test_vm_fields_are_prepared_for_users_and_admins() -> None:
    nic = NicRow("n-1", None, "10.0.0.5", "255.255.255.0", None, None, None, "Guest", 1, "06:aa")
    for account_type in (0, 1):
        ctx = CallContext(user_id=1, account_id=2, domain_id=1, domain_path="/",
                          account_type=account_type)  # fmt: skip
        fields = vm_fields(ctx, _row(), [nic])
        assert type(fields) is Prepared and _no_none(fields)
        assert fields["created"] == format_date(CREATED)
        # What the renderer would have made of them, walking them: the same.
        assert prepare(dict(fields)) == fields
        assert ("instancename" in fields) is (account_type == 1)
        assert fields["nic"][0] == {"id": "n-1", "netmask": "255.255.255.0",
                                    "ipaddress": "10.0.0.5", "traffictype": "Guest",
                                    "type": "Shared", "isdefault": True,
                                    "macaddress": "06:aa"}  # fmt: skip


def test_a_non_utc_time_keeps_format_dates_rule() -> None:
    aware = dt.datetime(2013, 4, 10, 18, 52, 6, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    ctx = CallContext(user_id=1, account_id=2, domain_id=1, domain_path="/", account_type=0)
    assert vm_fields(ctx, _row(created=aware), [])["created"] == format_date(aware)
