"""Contains all the data models used in inputs/outputs"""

from .api_envelope import ApiEnvelope
from .context import Context
from .context_info_data import ContextInfoData
from .context_info_response import ContextInfoResponse
from .context_status_item import ContextStatusItem
from .describe_context_files_response import DescribeContextFilesResponse
from .empty_body import EmptyBody
from .file_entry import FileEntry
from .file_url import FileUrl
from .file_url_response import FileUrlResponse
from .get_context_response import GetContextResponse
from .list_contexts_response import ListContextsResponse
from .sync_mode import SyncMode
from .task_state import TaskState
from .task_status import TaskStatus

__all__ = (
    "ApiEnvelope",
    "Context",
    "ContextInfoData",
    "ContextInfoResponse",
    "ContextStatusItem",
    "DescribeContextFilesResponse",
    "EmptyBody",
    "FileEntry",
    "FileUrl",
    "FileUrlResponse",
    "GetContextResponse",
    "ListContextsResponse",
    "SyncMode",
    "TaskState",
    "TaskStatus",
)
