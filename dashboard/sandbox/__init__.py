"""The Live API sandbox: a local emulator of the ten ApsaraVideo Live operations.

It never imports dashboard code (only dashboard.contract, the shared API contract) and keeps
its state in its own database alias, "sandbox".
"""
