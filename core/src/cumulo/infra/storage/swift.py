"""The cloud-wide Swift store (REQ-ZONE-01, REQ-SS-06).

Swift is optional and must come first: it can be added only while ``swift.enable`` is
true (a restart-required setting) and only before any zone exists, because every
zone's secondary storage relays its data to it from the start. The key is stored
encrypted under the database key and no answer shows it.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cumulo.db.listing import DEFAULT_PAGE_SIZE, fetch_page
from cumulo.infra.models import Zone
from cumulo.infra.storage import urls
from cumulo.infra.storage.models import Swift
from cumulo.infra.storage.pools import Secrets
from cumulo.sdk.errors import InvalidParameterValue

SWIFT_ENABLE = "swift.enable"


def _check_enabled(enabled: bool) -> None:
    if not enabled:
        raise InvalidParameterValue(
            f"Swift is not enabled: set the global setting {SWIFT_ENABLE} to true and"
            " restart the management server first (REQ-ZONE-01)"
        )


def add_swift(
    session: Session,
    *,
    enabled: bool,
    url: str,
    account: str | None,
    username: str | None,
    key: str | None,
    secrets: Secrets,
) -> Swift:
    """``addSwift``.

    :param enabled: the value of ``swift.enable``.
    :raises InvalidParameterValue: Swift is disabled, a zone already exists, the URL is
        not a Swift endpoint or is already added (431).
    """
    _check_enabled(enabled)
    endpoint = urls.parse_swift_url(url)
    zones = session.scalar(select(func.count()).select_from(Zone).where(Zone.removed.is_(None)))
    if zones:
        raise InvalidParameterValue(
            f"url: Swift must be added before any zone (REQ-ZONE-01, REQ-SS-06); this cloud"
            f" already has {zones} zone(s)"
        )
    if session.scalar(select(Swift.id).where(Swift.url == endpoint, Swift.removed.is_(None))):
        raise InvalidParameterValue(f"url: Swift {endpoint} is already added")
    swift = Swift(
        url=endpoint,
        account=account,
        username=username,
        key=secrets.seal(key) if key else None,
    )
    session.add(swift)
    session.flush()
    return swift


def list_swifts(
    session: Session,
    *,
    enabled: bool,
    swift_id: int | None = None,
    keyword: str | None = None,
    page: int | None = None,
    pagesize: int | None = None,
    max_page_size: int = DEFAULT_PAGE_SIZE,
) -> tuple[list[Swift], int]:
    """``listSwifts``: a page of Swift stores (one statement) and the total.

    :param swift_id: 4.1's ``id`` filter is the internal (long) id.
    :raises InvalidParameterValue: Swift is disabled (431).
    """
    _check_enabled(enabled)
    stmt = select(Swift).where(Swift.removed.is_(None)).order_by(Swift.id)
    if swift_id is not None:
        stmt = stmt.where(Swift.id == swift_id)
    if keyword:
        stmt = stmt.where(Swift.url.contains(keyword, autoescape=True))
    rows, total = fetch_page(
        session, stmt, page=page, pagesize=pagesize, max_page_size=max_page_size
    )
    return [row[0] for row in rows], total
