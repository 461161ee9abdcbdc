"""Domains, accounts and users: who owns resources and who may call the API."""
