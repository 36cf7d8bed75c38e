"""Live Callback Dashboard: a Django project for ApsaraVideo Live callback configs and records."""
