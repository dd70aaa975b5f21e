"""Form bodies: ``application/x-www-form-urlencoded`` and ``multipart/form-data`` (uploads)."""

from __future__ import annotations

import email.policy
from dataclasses import dataclass, field
from email.parser import BytesParser
from urllib.parse import parse_qs

from .._health_http import Request


@dataclass
class Form:
    """Text fields (first value of each) and uploaded files (name -> (file name, bytes))."""

    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> str:
        """A text field, stripped, or ``default``."""
        return self.fields.get(name, default).strip()


def parse_form(request: Request) -> Form:
    """The form in ``request``'s body; an unreadable body gives an empty form."""
    ctype = request.headers.get("Content-Type", "")
    form = Form()
    if ctype.startswith("application/x-www-form-urlencoded"):
        text = request.body.decode("utf-8", "replace")
        form.fields = {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
    elif ctype.startswith("multipart/form-data"):
        head = f"Content-Type: {ctype}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
        message = BytesParser(policy=email.policy.HTTP).parsebytes(head + request.body)
        if not message.is_multipart():
            return form
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str):
                continue
            data = part.get_payload(decode=True)
            body = data if isinstance(data, bytes) else b""
            filename = part.get_filename()
            if filename is not None:
                form.files[name] = (filename, body)
            else:
                form.fields[name] = body.decode("utf-8", "replace")
    return form
