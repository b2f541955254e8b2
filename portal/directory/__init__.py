"""Users, groups and Managed Apple IDs."""
