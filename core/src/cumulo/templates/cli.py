"""``cumulo install-systemvm-template``: 4.1's ``cloud-install-sys-tmpl`` (REQ-INST-08).

Run on the management server once per hypervisor and secondary storage, with the
store mounted (``-m /mnt/secondary``): fetches the system VM template (``-u``, a URL
or a local file; ``.bz2``/``.gz`` images are decompressed as the original script
does), and writes it where the secondary storage layout expects the system template
of that hypervisor, ``template/tmpl/1/<template id>/``, beside a
``template.properties`` describing it. The template id is the ``SYSTEM`` template of
the hypervisor in the database (created if the database has none yet), read through
``db.properties``; ``-s`` gives the management server key when the database
encryption type is ``web``; ``-t`` names the id instead and needs no database.
``-F`` replaces a template already installed there (without it the command refuses,
so a second run never silently overwrites a working template).
"""

from __future__ import annotations

import bz2
import gzip
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

import click
from sqlalchemy import func, select

from cumulo.sdk.storage import StorageError, TemplateSource, fetch_url

HYPERVISORS = {
    # -h value: (hypervisor_type, format, file ending, 4.1's template id, name)
    "kvm": ("KVM", "QCOW2", "qcow2", 3, "SystemVM Template (KVM)"),
    "xenserver": ("XenServer", "VHD", "vhd", 1, "SystemVM Template (XenServer)"),
    "vmware": ("VMware", "OVA", "ova", 8, "SystemVM Template (vSphere)"),
}
SYSTEM_ACCOUNT_ID = 1
ROOT_DOMAIN_ID = 1


@click.command("install-systemvm-template")
@click.option(
    "-m",
    "mount_point",
    required=True,
    type=click.Path(file_okay=False),
    help="Where the secondary storage is mounted (e.g. /mnt/secondary).",
)
@click.option(
    "-u",
    "source",
    required=True,
    help="URL (http/https) or local file of the system VM template image.",
)
@click.option(
    "-h",
    "hypervisor",
    required=True,
    type=click.Choice(sorted(HYPERVISORS), case_sensitive=False),
    help="The hypervisor the template is for.",
)
@click.option(
    "-s",
    "secret_key",
    default=None,
    help="Management server key (only when db.cloud.encryption.type is web).",
)
@click.option("-F", "force", is_flag=True, help="Replace a template already installed.")
@click.option(
    "-t",
    "template_id",
    type=int,
    default=None,
    help="Template id to install as (skips the database).",
)
def install_systemvm_template(
    mount_point: str,
    source: str,
    hypervisor: str,
    secret_key: str | None,
    force: bool,
    template_id: int | None,
) -> None:
    """Install the system VM template for a hypervisor into mounted secondary storage."""
    hypervisor_type, fmt, ending, _, _ = HYPERVISORS[hypervisor.lower()]
    mount = Path(mount_point)
    if not mount.is_dir():
        raise click.ClickException(f"{mount} is not a directory: mount the secondary storage first")
    if template_id is None:
        template_id = _system_template_id(hypervisor.lower(), source, secret_key)
    target_dir = mount / "template" / "tmpl" / str(SYSTEM_ACCOUNT_ID) / str(template_id)
    if target_dir.is_dir() and any(target_dir.iterdir()):
        if not force:
            raise click.ClickException(
                f"a template is already installed in {target_dir}; use -F to replace it"
            )
        shutil.rmtree(target_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    file_name = f"{uuid.uuid4()}.{ending}"
    with tempfile.TemporaryDirectory(dir=mount) as scratch:
        downloaded = Path(scratch) / Path(source.split("?")[0]).name
        _fetch(source, downloaded)
        final = target_dir / file_name
        _decompress(downloaded, final)
    size = final.stat().st_size
    _write_properties(target_dir, file_name, template_id, ending, size)
    click.echo(
        f"Installed the {hypervisor_type} system VM template ({fmt}, {size} bytes) as"
        f" template {template_id} in {target_dir}"
    )


def _fetch(source: str, destination: Path) -> None:
    local = Path(source[7:] if source.startswith("file://") else source)
    if "://" not in source or source.startswith("file://"):
        if not local.is_file():
            raise click.ClickException(f"{local} does not exist")
        with (
            local.open("rb") as src,
            destination.open("wb") as dst,
            click.progressbar(length=local.stat().st_size, label="Copying") as copying,
        ):
            while chunk := src.read(1024 * 1024):
                dst.write(chunk)
                copying.update(len(chunk))
        return
    bar: Any = None

    def progress(done: int, total: int | None) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total or 0, label="Downloading")
            bar.__enter__()
        bar.update(done - bar.pos)

    # The operator chose this URL: the tenants' address policy does not apply.
    policy = TemplateSource(source, address_allowed=lambda address: True, progress=progress)
    try:
        with destination.open("wb") as sink:
            fetch_url(source, sink, policy)
    except StorageError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


def _decompress(source: Path, target: Path) -> None:
    opener: Any = {".bz2": bz2.open, ".gz": gzip.open}.get(source.suffix.lower(), open)
    try:
        with opener(source, "rb") as src, target.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1024 * 1024)
    except (OSError, EOFError) as exc:
        raise click.ClickException(f"cannot read {source.name}: {exc}") from None


def _write_properties(
    directory: Path, file_name: str, template_id: int, ending: str, size: int
) -> None:
    lines = [
        f"filename={file_name}",
        "description=SystemVM Template",
        "checksum=",
        "hvm=false",
        f"size={size}",
        f"{ending}=true",
        f"id={template_id}",
        "public=true",
        f"{ending}.filename={file_name}",
        f"uniquename=routing-{template_id}",
        f"{ending}.virtualsize={size}",
        f"virtualsize={size}",
        f"{ending}.size={size}",
    ]
    (directory / "template.properties").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _system_template_id(hypervisor: str, source: str, secret_key: str | None) -> int:
    """The id of the hypervisor's SYSTEM template, created when missing."""
    from cumulo.db.engine import create_engine, session_factory
    from cumulo.secret_key import SecretKeyError, obtain_management_key
    from cumulo.settings import SettingsError, conf_dir, load_db_properties
    from cumulo.templates.models import TemplateType, VMTemplate

    hypervisor_type, fmt, _, _, name = HYPERVISORS[hypervisor]
    try:
        properties = load_db_properties(conf_dir())
        kind = properties.encryption_type
        if kind == "none":
            key = ""
        elif secret_key is not None:
            key = secret_key
        elif kind == "web":
            raise click.ClickException("the database encryption type is web: give the key with -s")
        else:
            key = obtain_management_key(kind, conf_dir())
        url = properties.cloud_url(key)
    except (SettingsError, SecretKeyError) as exc:
        raise click.ClickException(f"{exc} (or give the template id with -t)") from None
    engine = create_engine(url)
    try:
        with session_factory(engine)() as session, session.begin():
            found = session.scalar(
                select(func.max(VMTemplate.id)).where(
                    VMTemplate.template_type == TemplateType.SYSTEM.value,
                    VMTemplate.hypervisor_type == hypervisor_type,
                    VMTemplate.removed.is_(None),
                )
            )
            if found is not None:
                return int(found)
            template = VMTemplate(
                name=name,
                display_text=name,
                format=fmt,
                hypervisor_type=hypervisor_type,
                account_id=SYSTEM_ACCOUNT_ID,
                domain_id=ROOT_DOMAIN_ID,
                public=False,
                featured=False,
                cross_zones=True,
                template_type=TemplateType.SYSTEM.value,
                url=source if "://" in source else None,
                requires_hvm=False,
                extractable=False,
            )
            session.add(template)
            session.flush()
            template.unique_name = f"routing-{template.id}"
            return int(template.id)
    finally:
        engine.dispose()
