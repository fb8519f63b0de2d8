"""A local server speaking Kite Connect's HTTP API and WebSocket ticker formats.

The real `kiteconnect.KiteConnect` client (inside KiteBroker) and our WebSocket client run
against it end to end. See `KiteTestServer` for the hooks and fault injection.
"""

from tests.kite_server.book import BookError, OrderBook
from tests.kite_server.http_api import Fault
from tests.kite_server.mocks import load_mock, mock_data, mock_path
from tests.kite_server.packets import fixture_packet, frame, full_packet, ltp_packet, quote_packet
from tests.kite_server.server import KiteTestServer, wait_until

__all__ = [
    "BookError",
    "Fault",
    "KiteTestServer",
    "OrderBook",
    "fixture_packet",
    "frame",
    "full_packet",
    "load_mock",
    "ltp_packet",
    "mock_data",
    "mock_path",
    "quote_packet",
    "wait_until",
]
