"""Python SDK for the context API of the AGB cloud.

`ContextManager` reports how a session's context syncs are going (`info`) and
starts a sync and waits for it (`sync`): awaited, with a callback from plain
code, or blocking. `ContextService` lists, finds or creates, renames, deletes
and clears the contexts of the account.
"""

from agb_context._errors import AgbContextError, ConfigurationError
from agb_context._manager import ContextManager, SessionLike
from agb_context._operation import Operation, OperationStatus, Progress, SyncOperation
from agb_context._polling import PollingPolicy
from agb_context._results import (
    ApiResponse,
    ClearContextResult,
    Context,
    ContextInfoResult,
    ContextListResult,
    ContextResult,
    ContextStatusData,
    ContextSyncResult,
    OperationResult,
)
from agb_context._retry import RetryPolicy
from agb_context._service import (
    ContextLike,
    ContextListError,
    ContextListParams,
    ContextService,
)
from agb_context._session import Session
from agb_context._tls import InsecureTLSWarning
from agb_context._version import __version__

__all__ = [
    "AgbContextError",
    "ApiResponse",
    "ClearContextResult",
    "ConfigurationError",
    "Context",
    "ContextInfoResult",
    "ContextLike",
    "ContextListError",
    "ContextListParams",
    "ContextListResult",
    "ContextManager",
    "ContextResult",
    "ContextService",
    "ContextStatusData",
    "ContextSyncResult",
    "InsecureTLSWarning",
    "Operation",
    "OperationResult",
    "OperationStatus",
    "PollingPolicy",
    "Progress",
    "RetryPolicy",
    "Session",
    "SessionLike",
    "SyncOperation",
    "__version__",
]
