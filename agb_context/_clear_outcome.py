"""What "done" means for the clearing of a context's data.

The server accepted the clear; each poll is one look at the context's state
(`ContextService.get_clear_status`). The clear is over once a look shows the
state ``available``: the data is gone. Any other state (``clearing``,
``pre-available``, or one the cloud has besides, such as ``in-use``) is
waited out, never taken for done. A look
that fails counts as a poll and polling goes on; it is never read as "done".
A look answered 404 ends the wait: the context was deleted, and its data
with it.
"""

from __future__ import annotations

import logging

from agb_context._operation import Progress
from agb_context._polling import PollClock
from agb_context._results import ClearContextResult

AVAILABLE = "available"
"""The state of a context whose data is there to use: after a clear, cleared."""

logger = logging.getLogger("agb_context")


class ClearJudge:
    """Decides, look after look, whether the clearing of one context is over."""

    def __init__(self, context_id: str, request_id: str) -> None:
        self.context_id = context_id
        self.request_id = request_id
        self.state = "clearing"
        self.last_failure: ClearContextResult | None = None
        self.looks = 0
        self.failed_looks = 0

    @property
    def last_error(self) -> str:
        """Why the last look failed (``""`` when it did not)."""
        return "" if self.last_failure is None else self.last_failure.error_message

    def judge(self, look: ClearContextResult, clock: PollClock) -> ClearContextResult | None:
        """The final result once the clear is over, or None to look again."""
        self.looks += 1
        if not look.success and look.http_status == 404:
            return ClearContextResult(
                success=False,
                request_id=look.request_id,
                http_status=look.http_status,
                error_kind=look.error_kind,
                error_code=look.error_code,
                context_id=self.context_id,
                error_message=(
                    f"context {self.context_id} no longer exists: it was deleted while its "
                    f"data was being cleared ({look.error_message})"
                ),
            )
        if not look.success:
            self.failed_looks += 1
            self.last_failure = look
            logger.debug(
                "look %d at the clearing of %s (request %s) failed: %s",
                clock.polls,
                self.context_id,
                self.request_id,
                look.error_message,
            )
            return None
        self.last_failure = None
        self.state = look.status
        if look.status != AVAILABLE:
            return None
        return ClearContextResult(
            success=True,
            request_id=self.request_id,
            http_status=look.http_status,
            context_id=self.context_id,
            status=look.status,
        )

    def progress(self, clock: PollClock) -> Progress:
        """What the looks have seen so far, for the operation's progress."""
        return Progress(polls=clock.polls, last_error=self.last_error, state=self.state)

    def give_up(self, clock: PollClock) -> ClearContextResult:
        """The result when the looks or the deadline ran out."""
        last = self.last_failure
        if self.looks and self.failed_looks == self.looks and last is not None:
            return ClearContextResult(
                success=False,
                request_id=self.request_id,
                http_status=last.http_status,
                error_kind=last.error_kind,
                error_code=last.error_code,
                retryable=True,
                context_id=self.context_id,
                status=self.state,
                error_message=(
                    f"could not learn how the clearing of context {self.context_id} went: "
                    f"all {self.looks} looks failed over {clock.elapsed:.1f}s; last error: "
                    f"{last.error_message}"
                ),
            )
        message = (
            f"timed out after {clock.elapsed:.1f}s ({clock.polls} looks): context "
            f"{self.context_id} is still {self.state} on the server (the clearing goes on)"
        )
        if last is not None:
            message += f"; the last look failed: {last.error_message}"
        return ClearContextResult(
            success=False,
            request_id=self.request_id,
            error_kind="still_running",
            retryable=True,
            context_id=self.context_id,
            status=self.state,
            error_message=message,
        )
