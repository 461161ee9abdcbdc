"""The POSIX shell a router runs to read and commit a provider's configuration.

Used by the transports that reach a real router (``ssh://``, ``netns://``): the same
commands run on a router VM over SSH and inside a network namespace. They need only
``sh``, ``tar``, ``flock``, ``mv`` and ``find``.
"""

from __future__ import annotations

import shlex
from collections import defaultdict
from collections.abc import Iterable
from posixpath import dirname

from cumulo_vr.transport.base import EXIT_CONFLICT, Push

PUSH_SCRIPT = ".push.sh"
LOCK_WAIT_SECONDS = 120
_CHUNK = 200  # paths per command line


def read_command(base: str) -> str:
    """Prints a tar of ``generation``, ``dirty`` and ``state/`` (in that order: the
    generation is read before the documents, so a push committed meanwhile is seen as
    a conflict later, never as a consistent state). Nothing when ``base`` is absent."""
    b = shlex.quote(base)
    return (
        f"if [ -d {b} ]; then cd {b} && set -- && "
        'for f in generation dirty state; do [ -e "$f" ] && set -- "$@" "$f"; done; '
        '[ $# -eq 0 ] || tar -cf - "$@"; fi'
    )


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def push_script(base: str, stage: str, push: Push, env: dict[str, str] | None = None) -> str:
    """The script that commits ``push`` from ``stage`` into ``base`` (see
    :mod:`cumulo_vr.transport.base` for the protocol)."""
    b, s = shlex.quote(base), shlex.quote(stage)
    lines = [
        "#!/bin/sh",
        "# cumulo: commit a staged router configuration (generated for this push)",
        "set -eu",
        f"BASE={b}",
        f"STAGE={s}",
        "export BASE STAGE",
    ]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in sorted((env or {}).items())]
    lines += [
        "trap 'rm -rf \"$STAGE\"' EXIT",
        'exec 9>>"$BASE/.lock"',
        f"flock -w {LOCK_WAIT_SECONDS} 9 || "
        f"{{ echo 'the router configuration lock is held' >&2; exit {EXIT_CONFLICT}; }}",
        'current=0; [ -s "$BASE/generation" ] && current=$(cat "$BASE/generation")',
        f'[ "$current" = {push.expected_generation} ] || exit {EXIT_CONFLICT}',
    ]
    if push.validate:
        lines += ["# validation of the staged files", push.validate.rstrip("\n")]
    lines.append(': >"$BASE/dirty"')
    by_dir: dict[str, list[str]] = defaultdict(list)
    for path in sorted(push.writes):
        by_dir[dirname(path)].append(path)
    for directory in sorted(by_dir):
        target = '"$BASE"' if not directory else f'"$BASE"/{shlex.quote(directory)}'
        lines.append(f"mkdir -p {target}")
        for chunk in _chunks(by_dir[directory]):
            sources = " ".join(f'"$STAGE"/{shlex.quote(path)}' for path in chunk)
            # mv renames each file over the old one: readers see the old or the new file.
            lines.append(f"mv -f -t {target} -- {sources}")
    for chunk in _chunks(sorted(push.removes)):
        lines.append("rm -f -- " + " ".join(f'"$BASE"/{shlex.quote(path)}' for path in chunk))
    if push.removes:
        lines.append('find "$BASE" -mindepth 1 -depth -type d -empty ! -name run -delete')
    generation = push.expected_generation + 1
    lines += [
        f'echo {generation} >"$BASE/generation.new"',
        'mv -f "$BASE/generation.new" "$BASE/generation"',
        # The lock stays held through the activation (fd 9); daemons started there must
        # close it ("9>&-"), or they would hold the router's lock for their lifetime.
        'cd "$BASE"',
    ]
    if push.activate:
        lines += ["# activation", push.activate.rstrip("\n")]
    lines.append('rm -f "$BASE/dirty"')
    return "\n".join(lines) + "\n"


def teardown_command(base: str, stop: str) -> str:
    """Stops what ``stop`` stops and removes ``base``, under the router's lock."""
    b = shlex.quote(base)
    return (
        f"[ -d {b} ] || exit 0; BASE={b}; export BASE; "
        f'exec 9>>"$BASE/.lock"; flock -w {LOCK_WAIT_SECONDS} 9 || exit {EXIT_CONFLICT}; '
        f"{stop.strip()}\n"
        'cd /; rm -rf "$BASE"'
    )
