"""Accounts and roles: Viewer, Editor and Lead as Django groups with permissions."""
