from enum import StrEnum


class TaskState(StrEnum):
    FAILED = "Failed"
    PENDING = "Pending"
    RUNNING = "Running"
    SUCCESS = "Success"

    def __str__(self) -> str:
        return str(self.value)
