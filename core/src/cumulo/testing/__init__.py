"""Test support for cumulo and its plugins: a pytest plugin, fakes and compliance kits.

Installed with cumulo-core and registered under the ``pytest11`` entry point, so any
plugin's test suite gets the fixtures without configuration. The fakes here are never
registered in production entry points.
"""
