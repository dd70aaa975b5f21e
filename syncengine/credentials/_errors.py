"""The credentials exception tree; every class is a :class:`syncengine.SyncEngineError`.

```
SyncEngineError
 +-- CredentialsError               any credentials problem (base class of this tree)
      +-- CredentialsNotFoundError  raised when no token is stored for the server asked for
      +-- CredentialsStoreError     raised when the store is unreadable, tampered with, unsafe
      |                             (readable by others) or written in a format we cannot read
      +-- LoginRejectedError        raised when the server refuses the user/API key (401/403)
      +-- LoginUnreachableError     raised when the server cannot be reached to check a login
```

No message built here or by a raiser ever contains a token or an API key.
"""

from __future__ import annotations

from syncengine._errors import SyncEngineError


class CredentialsError(SyncEngineError):
    """Base class of every credentials problem; the message never contains a secret."""


class CredentialsNotFoundError(CredentialsError):
    """Raised when no token is stored for the server asked for."""


class CredentialsStoreError(CredentialsError):
    """Raised when the store is unreadable, fails authentication, or has unsafe permissions."""


class LoginRejectedError(CredentialsError):
    """Raised when the server answers the login check with 401 or 403."""


class LoginUnreachableError(CredentialsError):
    """Raised when the server cannot be reached (or answers oddly) during the login check."""
