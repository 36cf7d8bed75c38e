"""Callback records for support: search the archive (or, for the newest minutes, the Live API
directly), a record's own page, CSV exports and the failure overview."""
