"""Tools for callback receivers: send a signed test callback, and check a callback's signature."""
