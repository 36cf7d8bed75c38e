"""What the harvester tells the rest of the dashboard."""

from django.dispatch import Signal

# Sent after each batch of records is archived (outside its transaction), with
# `domain` (a Domain) and `records` (list of harvest.Inserted: only the records that were new).
records_archived = Signal()
