"""The one exception type the CLI turns into a one-line error and a non-zero exit.

Anything a user can get wrong (a missing file, a corrupt download, a bad model
file, a wrong data layout) is raised as :class:`VidrecError` with a message that
says what happened and what to do. Other exceptions are bugs and keep their
traceback.
"""


class VidrecError(Exception):
    """A user-facing error: the message is printed as is, the exit code is ``code``."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code
