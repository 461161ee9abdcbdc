"""Guest OS types, templates and ISOs."""
