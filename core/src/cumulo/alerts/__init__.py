"""Alerts: what operators must act on (listAlerts), raised by the infrastructure."""
