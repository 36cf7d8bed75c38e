"""The notify records explorer: DescribeLiveRecordNotifyRecords, paged, filtered, exported."""
