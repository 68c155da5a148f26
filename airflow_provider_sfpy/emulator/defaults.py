"""Default credentials and API versions of the emulated org.

These are constants on purpose: the CLI, ``make demo``, the test fixtures and users' own DAG test
suites all log in with the same well-known values, so none of them has to pass secrets around.
None of them is a real Salesforce credential.
"""

from __future__ import annotations

DEFAULT_USERNAME = "demo@sfpy.example"
DEFAULT_PASSWORD = "sfpy-demo-Pa55word!"
DEFAULT_SECURITY_TOKEN = ""
DEFAULT_CLIENT_ID = "sfpy-emulator-client-id"
DEFAULT_CLIENT_SECRET = "sfpy-demo-client-secret-9Xq"
DEFAULT_REFRESH_TOKEN = "sfpy-demo-refresh-token-7Lm"

#: Every REST API version the emulator answers on, oldest first (Summer '14 ... Summer '25).
API_VERSIONS: tuple[str, ...] = tuple(f"{major}.0" for major in range(31, 65))
LATEST_API_VERSION = API_VERSIONS[-1]

#: Salesforce's default daily API request allocation shown by ``/limits`` and ``Sforce-Limit-Info``.
DAILY_API_REQUESTS = 15000
#: Idle time after which an access token stops working (Salesforce's default session timeout: 2 hours).
SESSION_TIMEOUT_SECONDS = 2 * 60 * 60
#: Idle time after which a query cursor (``nextRecordsUrl``) is discarded, as Salesforce does.
QUERY_CURSOR_TIMEOUT_SECONDS = 15 * 60
