"""The template services on a real database, without the API: registration rules and
the template limit, the download pipeline (progress, checksum, events) through a
storage driver registered exactly as a plugin's, ``template_for_deploy``'s contract,
and deletion while a download runs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import pluggy
import pytest
from sqlalchemy import select, update

from cumulo.accounts.models import Account
from cumulo.events.models import Event
from cumulo.limits.models import ResourceLimit
from cumulo.runtime import Runtime
from cumulo.sdk.api import CallContext
from cumulo.sdk.errors import AccountLimitExceeded, InvalidParameterValue, PermissionDenied
from cumulo.sdk.storage import (
    SecondaryStorageDriver,
    StorageCapacity,
    StorageUrl,
    StoredObject,
    StoreRef,
    TemplateSource,
)
from cumulo.setup.seed import seed_cloud
from cumulo.templates import download, management
from cumulo.templates.lookup import template_for_deploy
from cumulo.templates.models import DownloadState, TemplateZoneRef, VMTemplate
from cumulo.templates.registration import Registration, register
from cumulo.templates.sources import AddressPolicy
from cumulo.templates.testing import ready_template, zone_with_store
from cumulo.testing.fakes import registered_drivers

KEY = "templates-test-database-key"
ADMIN = CallContext(user_id=2, account_id=2, domain_id=1, domain_path="/", account_type=1)


class RecordingStore(SecondaryStorageDriver):
    """A secondary driver that 'downloads' a fixed payload in four steps, reporting
    progress and the digests it computed, and remembers every call."""

    name: ClassVar[str] = "Simulator"
    calls: ClassVar[list[tuple[str, str]]] = []
    digests: ClassVar[dict[str, str]] = {"md5": "0" * 32}
    on_progress: ClassVar[Any] = None

    def validate_url(self, url: str, details: Mapping[str, str]) -> StorageUrl:
        return StorageUrl.parse(url)

    def attach_store(self, store: StoreRef) -> StorageCapacity:
        return StorageCapacity(10**12, 0)

    def download_template(self, store: StoreRef, path: str, source: TemplateSource) -> StoredObject:
        self.calls.append(("download", path))
        for step in range(5):
            assert source.progress is not None
            source.progress(step * 250, 1000)
            if RecordingStore.on_progress is not None:
                RecordingStore.on_progress(step)
        return StoredObject(path, 4000, 1000, digests=dict(self.digests))

    def delete_object(self, store: StoreRef, path: str) -> None:
        self.calls.append(("delete", path))


@pytest.fixture
def runtime(migrated_database_url: str, plugin_manager: pluggy.PluginManager) -> Iterator[Runtime]:
    built = Runtime.for_url(migrated_database_url, KEY, pm=plugin_manager)
    with built.sessions() as session:
        seed_cloud(session, KEY, built.algorithm)
        session.commit()
    RecordingStore.calls.clear()
    RecordingStore.digests = {"md5": "0" * 32}
    RecordingStore.on_progress = None
    with registered_drivers("cumulo.storage", {"Simulator": RecordingStore}):
        yield built
    built.close()


@pytest.fixture
def zone(runtime: Runtime, tmp_path: Path) -> Any:
    with runtime.sessions() as session:
        return zone_with_store(session, tmp_path / "store")


def _register(runtime: Runtime, zone: Any, ctx: CallContext = ADMIN, **extra: Any) -> int:
    values = {"os_type": "112", **extra}
    request = Registration(
        name="t", display_text="t", url="http://127.0.0.1/t.qcow2", zone=zone.zone_uuid,
        format="QCOW2", hypervisor="simulator", **values,
    )  # fmt: skip
    with runtime.sessions() as session:
        done = register(session, ctx, request, address_allowed=AddressPolicy.parse("127.0.0.0/8"))
        session.commit()
        assert done.template.hypervisor_type == "Simulator"
        return done.template.id


def _uuid(runtime: Runtime, template_id: int) -> str:
    with runtime.sessions() as session:
        return session.get_one(VMTemplate, template_id).uuid


def _ref(runtime: Runtime, template_id: int) -> TemplateZoneRef:
    with runtime.sessions() as session:
        ref = session.scalars(
            select(TemplateZoneRef).where(TemplateZoneRef.template_id == template_id)
        ).one()
        session.expunge(ref)
        return ref


def test_download_writes_progress_then_completes(
    runtime: Runtime, zone: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(download, "PROGRESS_INTERVAL", 0.0)
    template_id = _register(runtime, zone, checksum="0" * 32)
    seen: list[int] = []
    RecordingStore.on_progress = lambda step: seen.append(_ref(runtime, template_id).download_pct)
    outcome = download.download_to_zone(runtime, _uuid(runtime, template_id), zone.zone_id)
    assert outcome.error is None
    assert seen == [0, 25, 50, 75, 99]  # 100 % is written with the outcome only
    ref = _ref(runtime, template_id)
    assert (ref.download_state, ref.download_pct, ref.size, ref.physical_size) == (
        "DOWNLOADED", 100, 4000, 1000,
    )  # fmt: skip
    assert ref.install_path == f"template/tmpl/2/{template_id}/{_uuid(runtime, template_id)}.qcow2"
    with runtime.sessions() as session:
        deployable = template_for_deploy(session, ADMIN, _uuid(runtime, template_id), zone.zone_id)
        kinds = list(session.scalars(select(Event.type).order_by(Event.id)))
    assert deployable.size == 4000 and deployable.guest_os_display_name == "CentOS 5.5 (64-bit)"
    assert deployable.install_url == f"file://{zone.store_dir.resolve()}/{ref.install_path}"
    assert kinds[-2:] == ["TEMPLATE.DOWNLOAD.START", "TEMPLATE.DOWNLOAD.SUCCESS"]


def test_checksum_mismatch_deletes_and_records_error(runtime: Runtime, zone: Any) -> None:
    template_id = _register(runtime, zone, checksum="1" * 32)
    outcome = download.download_to_zone(runtime, _uuid(runtime, template_id), zone.zone_id)
    ref = _ref(runtime, template_id)
    assert outcome.error is not None and ref.download_state == "DOWNLOAD_ERROR"
    assert ref.error_str is not None and "checksum mismatch" in ref.error_str
    assert RecordingStore.calls == [("download", ref.install_path), ("delete", ref.install_path)]
    with runtime.sessions() as session, pytest.raises(InvalidParameterValue, match="not ready"):
        template_for_deploy(session, ADMIN, _uuid(runtime, template_id), zone.zone_id)


def test_deleted_while_downloading_leaves_nothing(runtime: Runtime, zone: Any) -> None:
    template_id = _register(runtime, zone)

    def delete_midway(step: int) -> None:
        if step == 2:
            with runtime.sessions() as session:
                template = session.get_one(VMTemplate, template_id)
                management.delete_template(session, ADMIN, template, None)
                session.commit()

    RecordingStore.on_progress = delete_midway
    outcome = download.download_to_zone(runtime, _uuid(runtime, template_id), zone.zone_id)
    assert outcome.error == "the template was deleted while it downloaded"
    # deleteTemplate removed what was there; the download removes what it wrote after.
    assert [kind for kind, _ in RecordingStore.calls] == ["download", "delete", "delete"]
    with runtime.sessions() as session:
        assert session.get_one(VMTemplate, template_id).removed is not None


def test_template_for_deploy_contract(runtime: Runtime, zone: Any) -> None:
    user = CallContext(user_id=9, account_id=99, domain_id=1, domain_path="/", account_type=0)
    with runtime.sessions() as session:
        private = ready_template(session, account_id=2, domain_id=1, zone_id=zone.zone_id,
                                 public=False)  # fmt: skip
        iso = ready_template(session, account_id=2, domain_id=1, zone_id=zone.zone_id, iso=True)
        session.commit()
        for value in (private.uuid, "no-such-template", "0"):
            with pytest.raises(InvalidParameterValue, match=r"^Invalid parameter templateid"):
                template_for_deploy(session, user, value, zone.zone_id)
        with pytest.raises(InvalidParameterValue, match=r"^id: .*not ready"):
            template_for_deploy(session, ADMIN, private.uuid, zone.zone_id + 1000, param="id")
        found = template_for_deploy(session, user, iso.uuid, zone.zone_id, param="id")
        assert found.is_iso and found.format == "ISO" and found.id == iso.id


def test_registration_rules_and_limit(runtime: Runtime, zone: Any) -> None:
    with runtime.sessions() as session:
        account = Account(account_name="u", type=0, domain_id=1)
        session.add(account)
        session.commit()
        user = CallContext(user_id=9, account_id=account.id, domain_id=1, domain_path="/",
                           account_type=0, account_name="u")  # fmt: skip
        session.add(ResourceLimit(type="template", account_id=account.id, max=1))
        session.commit()
    with pytest.raises(PermissionDenied):
        _register(runtime, zone, user, featured=True)
    _register(runtime, zone, user)
    with pytest.raises(AccountLimitExceeded, match="template"):
        _register(runtime, zone, user)
    with runtime.sessions() as session:
        session.execute(update(ResourceLimit).values(max=-1))
        session.commit()
    with pytest.raises(InvalidParameterValue, match="ostypeid value=999999"):
        _register(runtime, zone, user, os_type="999999")
    assert DownloadState.NOT_DOWNLOADED.value == _ref_state(runtime, account.id)


def _ref_state(runtime: Runtime, account_id: int) -> str:
    with runtime.sessions() as session:
        return str(
            session.scalar(
                select(TemplateZoneRef.download_state)
                .join(VMTemplate, VMTemplate.id == TemplateZoneRef.template_id)
                .where(VMTemplate.account_id == account_id)
            )
        )
