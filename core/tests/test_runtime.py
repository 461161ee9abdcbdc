"""The Runtime built from db.properties carries what the installation was set up with."""

from __future__ import annotations

from pathlib import Path

from cumulo.runtime import Runtime
from cumulo.setup.publish import publish
from cumulo.testing.deployment import database_properties, deploy_database

MANAGEMENT_KEY = "runtime-management-key"
DATABASE_KEY = "runtime-database-key"


def test_runtime_from_conf_reads_keys_and_region(database_url: str, tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    deploy_database(database_url, conf, management_key=MANAGEMENT_KEY, database_key=DATABASE_KEY)
    default = Runtime.from_conf(conf)
    try:
        # The key file gave the management key, which decrypted the database key.
        assert default.database_key == DATABASE_KEY
        assert default.region_id == 1
    finally:
        default.close()

    properties = database_properties(
        database_url, management_key=MANAGEMENT_KEY, database_key=DATABASE_KEY
    )
    properties.set("region.id", "3")  # cloudstack-setup-databases -r 3
    publish(conf, properties, MANAGEMENT_KEY)
    third = Runtime.from_conf(conf)
    try:
        assert third.region_id == 3
    finally:
        third.close()
