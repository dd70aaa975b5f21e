"""The pywats exception tree.

Every failure of a call to the WATS server is raised as one of these classes; nothing from httpx
or pydantic escapes a repository method. Misuse (a wrong argument type, an out-of-range page size,
a report field the server would reject) raises ``TypeError`` / ``ValueError`` instead, outside
this tree, because retrying or reporting it as a server problem would be wrong.

::

    PyWATSError                      any failed call; .operation .status_code .server_message
    |                                .correlation_id .retryable
    +-- TransportError               no usable HTTP answer; .may_have_reached_server
    |   +-- ConnectError             the connection could not be opened (request never sent)
    |   +-- RequestTimeout           connect / write / read / pool time limit passed
    |   +-- ConnectionDropped        the connection broke while sending or awaiting the answer
    +-- ValidationError              HTTP 400 or 422: the server rejected the request content
    |   +-- UnitsRejectedError       production.save_units: a 2xx answer whose errorCount is not 0
    +-- AuthenticationError          HTTP 401: token missing, wrong or expired
    +-- AuthorizationError           HTTP 403: token valid but not allowed to do this
    +-- NotFoundError                HTTP 404 (strict mode; lenient get-style calls return None)
    +-- ConflictError                HTTP 409: the request conflicts with the server's state
    +-- RateLimitedError             HTTP 429; .retry_after seconds (None if not given)
    +-- ServerError                  HTTP 5xx
    +-- UnexpectedStatusError        any other non-2xx status (405, 408, 413, ...)
    +-- InvalidResponseError         2xx answer that is not what the API promised (bad JSON,
                                     not XML/CSV where due, fails the model)

``retryable`` is True for transport errors, 429, 5xx and 408, False for everything else.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "AuthorizationError",
    "ConflictError",
    "ConnectError",
    "ConnectionDropped",
    "InvalidResponseError",
    "NotFoundError",
    "PyWATSError",
    "RateLimitedError",
    "RequestTimeout",
    "ServerError",
    "TransportError",
    "UnexpectedStatusError",
    "UnitsRejectedError",
    "ValidationError",
]


class PyWATSError(Exception):
    """Base of every error a pywats call raises for a failed server interaction.

    Raised when: never directly; catch it to handle any failure of a call.
    """

    #: Class default; instances may override it (e.g. 408 in UnexpectedStatusError).
    default_retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        status_code: int | None = None,
        server_message: str | None = None,
        correlation_id: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        #: The library call that failed, e.g. ``"reports.submit"``.
        self.operation = operation
        #: The HTTP status, or None when no answer arrived.
        self.status_code = status_code
        #: The server's own error text, when the answer carried one.
        self.server_message = server_message
        #: The request/correlation id from the answer's headers, when present.
        self.correlation_id = correlation_id
        #: Whether sending the same request again later may succeed.
        self.retryable = self.default_retryable if retryable is None else retryable

    def __str__(self) -> str:
        parts = [f"{self.operation}: {self.message}"]
        if self.server_message and self.server_message not in self.message:
            parts.append(f"server said: {self.server_message}")
        if self.correlation_id:
            parts.append(f"correlation id {self.correlation_id}")
        return "; ".join(parts)

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only context must survive pickling (e.g. across a process pool).
        return (_rebuild, (type(self), self.message, dict(self.__dict__)))


def _rebuild(cls: type[PyWATSError], message: str, state: dict[str, object]) -> PyWATSError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


class TransportError(PyWATSError):
    """No usable HTTP answer was received.

    Raised when: the connection failed, timed out or broke. ``may_have_reached_server`` says
    whether the server may have received (and acted on) the request.
    """

    default_retryable = True

    def __init__(self, message: str, *, operation: str, may_have_reached_server: bool) -> None:
        super().__init__(message, operation=operation)
        #: False only when the request certainly never left this machine.
        self.may_have_reached_server = may_have_reached_server


class ConnectError(TransportError):
    """Raised when: the TCP/TLS connection could not be opened; the request was not sent."""


class RequestTimeout(TransportError):
    """Raised when: a connect, write, read or pool time limit passed.

    ``may_have_reached_server`` is False for connect and pool timeouts, True otherwise.
    """


class ConnectionDropped(TransportError):
    """Raised when: the connection was closed or broke after the request started being sent."""


class ValidationError(PyWATSError):
    """Raised when: the server answered 400 or 422 (it rejected the request's content)."""


class UnitsRejectedError(ValidationError):
    """Raised when: ``production.save_units`` got a 2xx answer whose ``errorCount`` is not zero.

    ``error_count`` is the server's count; ``failed_units`` names the units (``serial/part``) the
    answer lists as failed, or, when it lists none, every unit that was sent (``named_by_server``
    is then False: some of them may have been saved).
    """

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        status_code: int | None = None,
        server_message: str | None = None,
        correlation_id: str | None = None,
        error_count: int = 0,
        failed_units: tuple[str, ...] = (),
        named_by_server: bool = False,
    ) -> None:
        super().__init__(
            message,
            operation=operation,
            status_code=status_code,
            server_message=server_message,
            correlation_id=correlation_id,
        )
        #: The answer's ``errorCount``.
        self.error_count = error_count
        #: The failed units as ``serialNumber/partNumber`` (or the server's own text per unit).
        self.failed_units = failed_units
        #: True when the server's answer itself named the failed units.
        self.named_by_server = named_by_server


class AuthenticationError(PyWATSError):
    """Raised when: the server answered 401 (token missing, wrong or expired)."""


class AuthorizationError(PyWATSError):
    """Raised when: the server answered 403 (the token may not perform this operation)."""


class NotFoundError(PyWATSError):
    """Raised when: the server answered 404 in strict mode (lenient get-style calls return None)."""


class ConflictError(PyWATSError):
    """Raised when: the server answered 409 (the request conflicts with stored state)."""


class RateLimitedError(PyWATSError):
    """Raised when: the server answered 429; ``retry_after`` is its Retry-After in seconds."""

    default_retryable = True

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        status_code: int | None = 429,
        server_message: str | None = None,
        correlation_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message,
            operation=operation,
            status_code=status_code,
            server_message=server_message,
            correlation_id=correlation_id,
        )
        #: Seconds the server asked us to wait (0 or more), or None when it did not say.
        self.retry_after = retry_after


class ServerError(PyWATSError):
    """Raised when: the server answered with a 5xx status."""

    default_retryable = True


class UnexpectedStatusError(PyWATSError):
    """Raised when: the server answered a non-2xx status not covered by another class."""


class InvalidResponseError(PyWATSError):
    """Raised when: a 2xx answer is not what the API promised (bad JSON, fails the model).

    A submit answer that is JSON (or empty) without a usable id is not one: the server took the
    report, so ``reports.submit`` returns a SubmitResult with ``id=None`` and the raw answer. A
    submit answer that is not JSON at all (a proxy's HTML page) is one.
    """
