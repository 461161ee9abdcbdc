"""Storage: primary storage pools (per cluster), secondary storage (per zone, stored as
a ``host`` row of type ``SecondaryStorage`` as 4.1 does) and the cloud-wide Swift store.

- :mod:`.urls` parses and validates the storage URLs of every protocol (no database);
- :mod:`.models` declares ``storage_pool``, ``storage_pool_details`` and ``swift``;
- :mod:`.pools`, :mod:`.secondary`, :mod:`.swift` are the services the commands call;
- :mod:`.tags` holds the zone-wide tag rule (REQ-PS-03);
- :mod:`.capacity` gives set-based capacity totals for ``listCapacity``.
"""
