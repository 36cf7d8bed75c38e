"""What the archive tells the rest of the dashboard."""

from django.dispatch import Signal

# Sent when a domain's harvest cursor moves, inside the transaction that moves it (receivers
# write their derived state in it: all of it is kept, or none): every record of `domain`
# (a Domain) with `start` <= notify_time < `end` is archived now (`start` None: from the
# first), ready to be read back in time order; `late` are records just stored that are
# older than `start` (they appeared upstream late), in time order. A range is settled once.
records_settled = Signal()

# Sent by `rebuild_rollups` for each `domain` whose derived state is to be recounted from all
# its archived records; a receiver answers with what it changed ({"created": 2, …}).
records_recounted = Signal()
