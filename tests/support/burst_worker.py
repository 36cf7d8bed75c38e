"""One process of the shared-rate-limit test: burst N describe calls at a given moment.

Prints "<ok> <throttled>". Retries are off so every throttled answer is counted.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")

import django  # noqa: E402

django.setup()

from dashboard.live import ThrottlingError  # noqa: E402
from dashboard.live import client as client_module  # noqa: E402
from dashboard.upstream import get_client  # noqa: E402

client_module.MAX_ATTEMPTS = 1
count, start_at = int(sys.argv[1]), float(sys.argv[2])
client = get_client()
time.sleep(max(0.0, start_at - time.time()))
ok = throttled = 0
for _ in range(count):
    try:
        client.describe_record_notify_config("live.example-shop.com", deadline=60)
        ok += 1
    except ThrottlingError:
        throttled += 1
print(ok, throttled)
