"""Create the local superuser `admin` for `make run`, unless it exists.

The password comes from KP_ADMIN_PASSWORD; without it one is generated, saved to
.local-admin-password (git-ignored, mode 600) and printed this once.
"""

import os
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD_FILE = ROOT / ".local-admin-password"
USERNAME = "admin"


def main() -> int:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kp_tracker.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model

    if settings.PRODUCTION:
        print("local-admin: refusing to create a local admin in production.", file=sys.stderr)
        return 1

    User = get_user_model()
    if User.objects.filter(username=USERNAME).exists():
        return 0

    password = os.environ.get("KP_ADMIN_PASSWORD")
    if password:
        where = "password from KP_ADMIN_PASSWORD"
    else:
        password = secrets.token_urlsafe(12)
        PASSWORD_FILE.write_text(password + "\n")
        PASSWORD_FILE.chmod(0o600)
        where = f"password {password} (saved in {PASSWORD_FILE.name})"
    User.objects.create_superuser(username=USERNAME, email="", password=password)
    print(f"Created the local superuser {USERNAME!r}, {where}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
