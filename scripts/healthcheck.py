"""Docker healthcheck for web: exit 0 when the app answers /admin/login/ with 200.

Sends a Host from ALLOWED_HOSTS (anything else is a 400 and a DisallowedHost log line) and
X-Forwarded-Proto: https (as the TLS proxy would; otherwise SECURE_SSL_REDIRECT answers 301).
"""

import http.client
import os
import sys

host = os.environ.get("ALLOWED_HOSTS", "").split(",")[0].strip().lstrip(".*") or "localhost"
try:
    conn = http.client.HTTPConnection("127.0.0.1", 8000, timeout=5)
    conn.request("GET", "/admin/login/", headers={"Host": host, "X-Forwarded-Proto": "https"})
    status = conn.getresponse().status
except OSError as exc:
    sys.exit(f"healthcheck: {exc}")
sys.exit(0 if status == 200 else f"healthcheck: /admin/login/ answered {status}")
