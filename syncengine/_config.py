"""Engine configuration: one frozen, validated object.

Every knob of the engine lives here so that tests can shrink backoff to milliseconds and the CLI
can load the same object from TOML and environment variables. Unknown keys are errors
(``extra="forbid"``), so a typo in a config file is reported instead of silently ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RetryConfig(_Frozen):
    """Backoff for retryable failures (network, timeouts, 5xx, 429): full jitter, exponential."""

    base_s: float = Field(1.0, gt=0, description="first backoff ceiling, seconds")
    multiplier: float = Field(2.0, ge=1.0, description="growth of the ceiling per attempt")
    cap_s: float = Field(300.0, gt=0, description="largest backoff ceiling, seconds")
    attempts_before_cap: int = Field(
        20,
        ge=1,
        description="after this many attempts a submission stays pending at the cap interval "
        "(it is never dropped)",
    )


class BreakerConfig(_Frozen):
    """Circuit breaker around the server."""

    failure_threshold: int = Field(5, ge=1, description="consecutive retryable failures to open")
    reset_timeout_s: float = Field(30.0, gt=0, description="open -> half-open after this long")


class RateLimitConfig(_Frozen):
    """An optional hard ceiling on uploads per second: a token bucket, per engine instance (per
    process). Off by default: adaptive concurrency sets the pace. See docs/engine.md."""

    rate_per_s: float | None = Field(
        None, gt=0, description="uploads per second at most; None = no ceiling"
    )
    burst: int | None = Field(
        None, ge=1, description="tokens the bucket holds; default: rate_per_s rounded up"
    )


class AdaptiveConfig(_Frozen):
    """Adaptive concurrency (AIMD on uploads in flight; docs/engine.md, "Adaptive concurrency")."""

    enabled: bool = Field(True, description="False: always `concurrency` uploads in flight")
    initial: int = Field(4, ge=1, le=64, description="the limit at start")
    min_in_flight: int = Field(1, ge=1, le=64, description="the limit never goes below this")
    decrease_factor: float = Field(
        0.5, gt=0, lt=1, description="the limit is multiplied by this on 429/503 or slow answers"
    )
    latency_tolerance: float = Field(
        2.0, gt=1, description="answers slower than baseline x this count as congestion"
    )
    latency_floor_s: float = Field(
        0.01, ge=0, description="...and only if slower than the baseline by more than this"
    )
    max_hold_s: float = Field(
        60.0, ge=0, description="longest pause of all uploads that a Retry-After can ask for"
    )


class TimeoutConfig(_Frozen):
    """Every timeout of the engine, in seconds: HTTP ones handed to pywats.Client, the journal's
    lock wait, and the bounded waits of ``stop()`` (docs/configuration.md)."""

    connect_s: float = Field(5.0, gt=0, description="HTTP: connect to the server")
    read_s: float = Field(30.0, gt=0, description="HTTP: wait for the server's answer")
    write_s: float = Field(30.0, gt=0, description="HTTP: send the request")
    pool_s: float = Field(5.0, gt=0, description="HTTP: wait for a free connection")
    journal_busy_s: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="a journal write waits this long for other processes' lock, then fails",
    )
    stop_submits_s: float = Field(
        60.0,
        ge=0,
        le=3600,
        description="stop(): wait for submits already admitted to commit (their callers get "
        "their key back)",
    )
    stop_join_s: float = Field(
        5.0,
        ge=0,
        le=600,
        description="stop(): wait for each engine thread (dispatcher, probe, status) to end",
    )
    journal_close_s: float = Field(
        30.0,
        ge=0,
        le=3600,
        description="stop(): wait for journal calls still running before closing the journal",
    )
    converter_start_s: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="a converter worker process must be ready this soon after it is started "
        "(it imports the converters and plugins first)",
    )


class HealthHttpConfig(_Frozen):
    """Optional loopback HTTP endpoint with /healthz and Prometheus /metrics."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(0, ge=0, le=65535)


class UiConfig(_Frozen):
    """The station page: a local web page for operators, on loopback only (docs/operations.md).

    It also answers /livez, /readyz, /healthz and /metrics. ``token`` (optional) asks for a
    password before showing anything, for stations where several people share a desktop.
    """

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(8765, ge=0, le=65535, description="0 picks a free port (see the log)")
    token: SecretStr | None = Field(None, description="ask for this before showing the page")
    refresh_s: float = Field(5.0, gt=0, description="live update period of the open page")
    sample_s: float = Field(10.0, gt=0, description="chart sampling period")
    max_upload_mb: float = Field(16.0, gt=0, description="largest corrected report accepted")


class WatchFolder(_Frozen):
    """One folder the station's test software writes report files into."""

    path: Path
    converter: str = Field("auto", description="converter name, or 'auto' to pick by validate()")
    patterns: tuple[str, ...] = Field((), description="glob patterns; empty = the converter's own")
    done_action: Literal["move", "delete", "keep"] = "move"
    done_dir: Path | None = Field(None, description="default: <path>/done")
    error_dir: Path | None = Field(None, description="default: <path>/error")
    stable_s: float = Field(1.0, ge=0, description="size and mtime unchanged this long first")
    recursive: bool = False
    options: dict[str, object] = Field(default_factory=dict, description="converter options")
    rescan_s: float = Field(
        30.0, gt=0, description="full rescan period backing up file events (network shares)"
    )
    max_file_mb: float = Field(
        256.0, gt=0, description="larger files go to the error folder unconverted"
    )
    normalize_loops: bool | None = Field(
        None,
        description="rewrite server-export loop summaries the server's import refuses "
        "(docs/converters.md); None = the engine's normalize_loops",
    )
    create: bool = Field(
        False, description="create a missing folder at start; else a missing folder is an error"
    )

    @property
    def effective_done_dir(self) -> Path:
        """Where converted source files go when ``done_action == "move"``."""
        return self.done_dir if self.done_dir is not None else self.path / "done"

    @property
    def effective_error_dir(self) -> Path:
        """Where files that could not be converted go, with a ``.error.txt`` sidecar."""
        return self.error_dir if self.error_dir is not None else self.path / "error"


class EngineConfig(_Frozen):
    """Everything a SyncEngine needs; only ``server_url``, ``token``, ``journal_path`` required."""

    # A wrong value must never be echoed: it may be the token, or a URL that carries a key.
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    server_url: str
    token: SecretStr
    journal_path: Path
    station_name: str | None = None
    status_path: Path | None = Field(None, description="default: <journal_path>.status.json")
    lock_path: Path | None = Field(None, description="default: <journal_path>.lock")
    journal_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    concurrency: int = Field(
        32, ge=1, le=64, description="most uploads in flight (worker threads); adaptive below it"
    )
    grace_period_s: float = Field(10.0, ge=0)
    idle_poll_s: float = Field(0.5, gt=0, description="longest sleep when nothing is due")
    probe_interval_s: float = Field(5.0, gt=0, description="connectivity probe while offline")
    status_interval_s: float = Field(2.0, gt=0, description="status file refresh period")
    stuck_after_s: float = Field(600.0, gt=0, description="no ack for this long while due => stuck")
    retry: RetryConfig = RetryConfig()
    breaker: BreakerConfig = BreakerConfig()
    rate_limit: RateLimitConfig = RateLimitConfig()
    adaptive: AdaptiveConfig = AdaptiveConfig()
    timeouts: TimeoutConfig = TimeoutConfig()
    health_http: HealthHttpConfig = HealthHttpConfig()
    ui: UiConfig = UiConfig()
    watch: tuple[WatchFolder, ...] = ()
    converter_paths: tuple[str, ...] = Field((), description="extra converter modules/files")
    converter_timeout_s: float = Field(60.0, gt=0)
    converter_memory_mb: int | None = Field(1024, ge=16, description="POSIX only; None = no limit")
    converter_workers: int = Field(2, ge=1, le=32)
    validate_submit: bool = Field(
        True,
        description="SyncEngine.submit() checks a report with pywats first (as the watcher "
        "does) and raises ReportInputError for one the server would refuse",
    )
    normalize_loops: bool = Field(
        False,
        description="rewrite server-export loop summaries the server's import refuses, in "
        "every converted file (recorded in the journal; docs/converters.md)",
    )

    @model_validator(mode="after")
    def _folders_inherit_normalize_loops(self) -> EngineConfig:
        # Resolved here so each folder carries its own answer (the ingest path reads only it).
        folders = tuple(
            folder
            if folder.normalize_loops is not None
            else folder.model_copy(update={"normalize_loops": self.normalize_loops})
            for folder in self.watch
        )
        object.__setattr__(self, "watch", folders)
        return self

    @field_validator("server_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        # pywats owns the rule (http(s) only; a user:key@ part is refused without echoing it),
        # so the client and the configuration can never disagree. Checked here, at load time,
        # rather than by the client at start; the value is kept as given (stripped).
        from pywats import normalise_base_url

        try:
            normalise_base_url(value)
        except ValueError as exc:
            # pywats quotes a URL that lacks the scheme; a config error never echoes a value.
            reason = str(exc).split(", got ", 1)[0].replace("base_url", "server_url", 1)
            if "user:key@" in reason:  # for an operator, not a pywats caller: where they go
                reason += "; or store them with 'syncengine login'"
            raise ValueError(reason) from None
        return value.strip()

    @property
    def effective_status_path(self) -> Path:
        """The status snapshot file that ``syncengine status`` reads."""
        if self.status_path is not None:
            return self.status_path
        return self.journal_path.with_name(self.journal_path.name + ".status.json")

    @property
    def effective_lock_path(self) -> Path:
        """The lock file that makes one engine drain a journal at a time."""
        if self.lock_path is not None:
            return self.lock_path
        return self.journal_path.with_name(self.journal_path.name + ".lock")
