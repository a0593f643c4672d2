"""An e-mail backend for benchmarks: everything Django's SMTP backend does to a message short of
the network (addresses sanitized, the MIME message built and serialized to bytes), and the bytes
dropped. Django's locmem backend keeps a deep copy of every message, so over tens of thousands
of messages a worker's memory, and its garbage collector's work, grow without end.

    EMAIL_BACKEND=scripts.bench_mail.DiscardingBackend
"""

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import sanitize_address


class DiscardingBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        sent = 0
        for message in email_messages:
            if not message.recipients():
                continue
            encoding = message.encoding or settings.DEFAULT_CHARSET
            sanitize_address(message.from_email, encoding)
            for address in message.recipients():
                sanitize_address(address, encoding)
            message.message().as_bytes(linesep="\r\n")
            sent += 1
        return sent
