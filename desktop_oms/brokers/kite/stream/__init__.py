"""Kite's live stream on the application's loop: stream.py (`KiteStream`: subscriptions,
tick coalescing, order updates, the session state it reports) over connection.py (the
WebSocket connect / serve loop, the dead-socket watchdog and reconnects with backoff)."""
