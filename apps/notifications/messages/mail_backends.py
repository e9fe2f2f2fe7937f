"""An email backend that writes each message as a standalone `.eml` file (RFC 5322), so
`make run` leaves messages a person can open in any mail client under `.local/mail/`.

Files are named `<time>-<Message-ID>-<random>.eml` and written atomically (temporary
file, then rename): a reader never sees half a message, two sends of one message leave
two files, and `delivery_status()` can answer whether a Message-ID was delivered.
"""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage

from apps.notifications.messages.provider_status import DeliveryStatus

_UNSAFE = re.compile(r"[^A-Za-z0-9._@+-]")


def _file_key(message_id: str) -> str:
    return _UNSAFE.sub("_", message_id.strip().strip("<>"))[:150]


class EmlFileEmailBackend(BaseEmailBackend):
    def __init__(
        self,
        file_path: str | os.PathLike[str] | None = None,
        fail_silently: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(fail_silently=fail_silently, **kwargs)
        self.directory = Path(file_path or settings.EMAIL_FILE_PATH)

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        if not email_messages:
            return 0
        self.directory.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            try:
                self._write(message)
            except OSError:
                if not self.fail_silently:
                    raise
            else:
                sent += 1
        return sent

    def _write(self, message: EmailMessage) -> Path:
        mime = message.message()
        key = _file_key(str(mime["Message-ID"] or uuid.uuid4().hex))
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        target = self.directory / f"{stamp}-{key}-{uuid.uuid4().hex[:8]}.eml"
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".part")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(mime.as_bytes())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return target

    def delivery_status(self, message_id: str) -> DeliveryStatus:
        pattern = f"*-{_file_key(message_id)}-*.eml"
        if any(self.directory.glob(pattern)):
            return DeliveryStatus.DELIVERED
        return DeliveryStatus.NOT_DELIVERED
