"""Benchmark: reading the configuration a request needs, batched versus key by key.

A request handler typically needs a handful of configuration values (page size, limits,
feature flags). ``ConfigStore.values(names)`` fetches them in one statement;
``ConfigStore.value(name)`` per key costs one statement each. This prints, as JSON lines,
the statements per operation (deterministic) and the median of interleaved per-block
time ratios batched/per-key (noise-robust; see ../shared/spec/performance.md).

    .venv/bin/python bench/config_lookup.py [--url mysql+pymysql://root@127.0.0.1/db]

Without ``--url`` a fresh SQLite file in a temporary directory is used.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import event

from cumulo.config import ConfigRegistry, ConfigStore
from cumulo.db import migrate
from cumulo.db.engine import create_engine, session_factory
from cumulo.plugins import get_plugin_manager

NAMES = (
    "default.page.size",
    "max.account.vpcs",
    "vpc.max.networks",
    "firewall.rule.ui.enabled",
    "enable.ec2.api",
    "enable.s3.api",
    "swift.enable",
    "use.local.storage",
)
BLOCKS = 15
OPERATIONS_PER_BLOCK = 200


def _timed(operation: Callable[[], object]) -> float:
    start = time.perf_counter()
    for _ in range(OPERATIONS_PER_BLOCK):
        operation()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="an EMPTY database to migrate and use")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url = args.url or f"sqlite:///{Path(scratch) / 'bench.db'}"
        pm = get_plugin_manager(autoload=False)
        migrate.upgrade(url, pm)
        engine = create_engine(url)
        statements = 0

        @event.listens_for(engine, "before_cursor_execute")
        def _count(*_: object) -> None:
            nonlocal statements
            statements += 1

        registry = ConfigRegistry.build(pm)
        with session_factory(engine)() as session:
            store = ConfigStore(registry, session, "bench-key")
            store.set("default.page.size", "100")
            store.set("swift.enable", "true")
            session.flush()

            def batched() -> object:
                return store.values(NAMES)

            def per_key() -> object:
                return [store.value(name) for name in NAMES]

            assert batched() == dict(zip(NAMES, per_key(), strict=True))
            counts = {}
            for label, operation in (("batched", batched), ("per_key", per_key)):
                before = statements
                operation()
                counts[label] = statements - before
            ratios = []
            for _ in range(BLOCKS):  # interleaved A/B blocks: noise hits both alike
                ratios.append(_timed(batched) / _timed(per_key))
        engine.dispose()
    print(
        json.dumps(
            {
                "bench": "config_lookup",
                "backend": engine.dialect.name,
                "keys": len(NAMES),
                "statements_batched": counts["batched"],
                "statements_per_key": counts["per_key"],
                "time_ratio_batched_over_per_key_median": round(statistics.median(ratios), 3),
                "blocks": BLOCKS,
            }
        )
    )


if __name__ == "__main__":
    main()
