"""Python SDK for the context API of the AGB cloud.

`ContextManager` reports how a session's context syncs are going (`info`) and
starts a sync and waits for it (`sync`): awaited, with a callback from plain
code, or blocking. `ContextService` lists, finds or creates, renames, deletes
and clears the contexts of the account.
"""

from agb_context._errors import (
    AgbContextError,
    ApiError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    InvalidArgumentError,
    NetworkError,
    NotFoundError,
    OperationCancelledError,
    PermissionDeniedError,
    RateLimitError,
    RequestFailed,
    RequestTimeoutError,
    ServerError,
    StatusError,
    StillRunningError,
    SyncFailedError,
    UnreadableResponseError,
)
from agb_context._manager import ContextManager, SessionLike
from agb_context._operation import (
    ClearOperation,
    Operation,
    OperationStatus,
    Progress,
    SyncOperation,
)
from agb_context._polling import PollingPolicy
from agb_context._results import (
    ApiResponse,
    ClearContextResult,
    Context,
    ContextFileEntry,
    ContextFileListResult,
    ContextInfoResult,
    ContextListResult,
    ContextResult,
    ContextStatusData,
    ContextSyncResult,
    ErrorKind,
    FileTransferResult,
    FileUrlResult,
    FolderTransferResult,
    OperationResult,
)
from agb_context._retry import RetryPolicy
from agb_context._service import (
    ContextLike,
    ContextListError,
    ContextListParams,
    ContextService,
)
from agb_context._service_files import ContextFileListError
from agb_context._session import Session
from agb_context._tls import InsecureTLSWarning
from agb_context._types import SyncMode, TaskStatus
from agb_context._version import __version__

__all__ = [
    "AgbContextError",
    "ApiError",
    "ApiResponse",
    "AuthenticationError",
    "BadRequestError",
    "ClearContextResult",
    "ClearOperation",
    "ConfigurationError",
    "Context",
    "ContextFileEntry",
    "ContextFileListError",
    "ContextFileListResult",
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
    "ErrorKind",
    "FileTransferResult",
    "FileUrlResult",
    "FolderTransferResult",
    "InsecureTLSWarning",
    "InvalidArgumentError",
    "NetworkError",
    "NotFoundError",
    "Operation",
    "OperationCancelledError",
    "OperationResult",
    "OperationStatus",
    "PermissionDeniedError",
    "PollingPolicy",
    "Progress",
    "RateLimitError",
    "RequestFailed",
    "RequestTimeoutError",
    "RetryPolicy",
    "ServerError",
    "Session",
    "SessionLike",
    "StatusError",
    "StillRunningError",
    "SyncFailedError",
    "SyncMode",
    "SyncOperation",
    "TaskStatus",
    "UnreadableResponseError",
    "__version__",
]
