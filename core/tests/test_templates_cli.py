"""``cumulo install-systemvm-template`` (4.1's ``cloud-install-sys-tmpl``): the options
``-m -u -h -s -F``, the secondary storage layout, and the SYSTEM template id read from
(or created in) the database ``db.properties`` names."""

from __future__ import annotations

import bz2
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from cumulo.db.engine import create_engine, session_factory
from cumulo.plugins import get_plugin_manager
from cumulo.templates.cli import install_systemvm_template
from cumulo.templates.models import VMTemplate
from cumulo.templates.testing import TemplateServer
from cumulo.testing.deployment import deploy_database

IMAGE = b"QFI\xfb" + bytes(range(256)) * 4096


def _properties(directory: Path) -> dict[str, str]:
    text = (directory / "template.properties").read_text(encoding="utf-8")
    return dict(line.split("=", 1) for line in text.splitlines())


def test_local_bz2_file_installs_decompressed_with_properties(tmp_path: Path) -> None:
    mount = tmp_path / "secondary"
    mount.mkdir()
    source = tmp_path / "systemvm.qcow2.bz2"
    source.write_bytes(bz2.compress(IMAGE))
    runner = CliRunner()
    args = ["-m", str(mount), "-u", str(source), "-h", "kvm", "-t", "3"]
    result = runner.invoke(install_systemvm_template, args)
    assert result.exit_code == 0, result.output
    target = mount / "template" / "tmpl" / "1" / "3"
    (image,) = target.glob("*.qcow2")
    assert image.read_bytes() == IMAGE
    props = _properties(target)
    assert props["filename"] == image.name and props["qcow2.filename"] == image.name
    assert (props["id"], props["size"], props["qcow2"]) == ("3", str(len(IMAGE)), "true")
    again = runner.invoke(install_systemvm_template, args)
    assert again.exit_code == 1 and "use -F" in again.output
    forced = runner.invoke(install_systemvm_template, [*args, "-F"])
    assert forced.exit_code == 0 and len(list(target.glob("*.qcow2"))) == 1


def test_url_download_with_progress_bar(tmp_path: Path) -> None:
    mount = tmp_path / "secondary"
    mount.mkdir()
    with TemplateServer({"/systemvm.vhd": IMAGE}) as server:
        result = CliRunner().invoke(
            install_systemvm_template,
            ["-m", str(mount), "-u", server.url("/systemvm.vhd"), "-h", "xenserver", "-t", "1"],
        )
    assert result.exit_code == 0, result.output
    assert "Downloading" in result.output
    (image,) = (mount / "template" / "tmpl" / "1" / "1").glob("*.vhd")
    assert image.read_bytes() == IMAGE


def test_template_id_comes_from_the_database(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = tmp_path / "conf"
    deploy_database(database_url, conf, management_key="mk", database_key="dk",
                    pm=get_plugin_manager())  # fmt: skip
    monkeypatch.setenv("CUMULO_CONF_DIR", str(conf))
    mount = tmp_path / "secondary"
    mount.mkdir()
    source = tmp_path / "systemvm.ova"
    source.write_bytes(IMAGE)
    args = ["-m", str(mount), "-u", str(source), "-h", "vmware"]
    first = CliRunner().invoke(install_systemvm_template, args)
    assert first.exit_code == 0, first.output
    engine = create_engine(database_url)
    try:
        with session_factory(engine)() as session:
            system = session.scalars(
                select(VMTemplate).where(VMTemplate.template_type == "SYSTEM")
            ).one()
    finally:
        engine.dispose()
    assert (system.hypervisor_type, system.format, system.account_id) == ("VMware", "OVA", 1)
    assert (mount / "template" / "tmpl" / "1" / str(system.id) / "template.properties").is_file()
    second = CliRunner().invoke(install_systemvm_template, [*args, "-F"])
    assert second.exit_code == 0 and f"as template {system.id} " in second.output


def test_missing_mount_point_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        install_systemvm_template,
        ["-m", str(tmp_path / "nope"), "-u", "x", "-h", "kvm", "-t", "3"],
    )
    assert result.exit_code != 0 and "mount the secondary storage" in result.output
