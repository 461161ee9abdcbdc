"""cumulo's standard placement plugins, registered through entry points exactly as a
third-party allocator is (DESIGN.md §2): the core never imports this package by name.

- planners (``cumulo.planners``): :mod:`.planners`;
- host filters and weighers, storage pool allocators (``cumulo.allocators``):
  :mod:`.filters`, :mod:`.weighers`, :mod:`.storage`;
- the hook module :mod:`.plugin` declares the settings only these plugins read.

Everything here imports :mod:`cumulo.sdk` (and ``cumulo.hookimpl``) only.
"""
