from enum import StrEnum


class SyncMode(StrEnum):
    DOWNLOAD = "download"
    UPLOAD = "upload"

    def __str__(self) -> str:
        return str(self.value)
